"""Motion gate: its cost a frame, its quietness on a still scene and its reaction to movement.

A benchmark, not a test. Run it from the repository root:

    .venv/bin/python bench/motion.py [--repeat 3] [--fps 5] [--threads N]

The bar (DESIGN.md §10): at most 0.3 ms a frame on ``vtest.avi``, silent on the still part of a
quiet clip (300 frames of one still picture, then 100 moving) after 2 s, reacting within a frame
when movement starts. For scale, on the reference machines Frigate's motion detector costs 0.45 ms
a frame and MOG2 4.6 ms at full size; both MOG2 figures are measured again here, in the same run, so
that the ratio to MOG2 alone at 100 px (0.3 ms there, the bar itself) can be checked whatever the load
of this shared machine.

What it does:

- decodes ``vtest.avi`` into memory first (decoding is not the gate's cost);
- cost: ``Mog2MotionGate.update`` on every frame, and on every other frame (the 5 fps analysis
  rate of a 10 fps clip), the best mean of ``--repeat`` runs, in process CPU time (what the gate
  uses, whatever else this shared machine runs) and in wall time, OpenCV on one thread (a camera
  worker's core; ``--threads`` to change). Next to it, in the same run: the gate at
  ``frame_height=100`` (96 px high for 576 lines) instead of the default 72 (72 px), MOG2 alone on
  frames scaled to 100 px high beforehand (DESIGN.md's 0.3 ms), the same with the scaling
  (cv2.resize INTER_AREA + cvtColor) counted, and MOG2 on the full colour frame (DESIGN.md's 4.6 ms);
- quiet clips built from vtest.avi's first frame held still for 300 frames, then its next 100
  frames: exactly repeated (clean), with Gaussian sensor noise (σ = 2 grey levels), and encoded to
  H.264 by ffmpeg (codec noise, a key frame every 2 s) and decoded back. Each is run at the
  analysis rate (``--fps``, default 5: every other frame) and at every frame (10 fps): frames
  flagged in the first 2 s, frames flagged on the still part after 2 s (bar: 0), the delay in
  analysed frames between the first moving frame and the first flagged one (bar: ≤ 1; 0 means the
  very frame), and the share of moving frames flagged;
- a verdict line per bar, with the ratio to the bar.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from benchlib import load_average

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from analytics.pipeline.base import Frame  # noqa: E402
from analytics.pipeline.clips import QUIET_STILL, VTEST, VTEST_FPS, encode, quiet_clip, read_frames  # noqa: E402
from analytics.pipeline.config import MotionConfig  # noqa: E402
from analytics.pipeline.motion.mog2 import Mog2MotionGate  # noqa: E402

BAR_MS, BAR_SETTLE_S, BAR_REACTION = 0.3, 2.0, 1
REFERENCE_FRIGATE_MS = 0.45


def best_mean_ms(
    frames: Sequence[np.ndarray], make: Callable[[], Callable[[np.ndarray], object]], repeat: int
) -> tuple[float, float]:
    """Best mean (process CPU ms, wall ms) a frame over ``repeat`` fresh runs."""
    best_cpu = best_wall = float("inf")
    for _ in range(repeat):
        step = make()
        cpu0, wall0 = time.process_time_ns(), time.perf_counter_ns()
        for image in frames:
            step(image)
        cpu, wall = time.process_time_ns() - cpu0, time.perf_counter_ns() - wall0
        best_cpu = min(best_cpu, cpu / len(frames) / 1e6)
        best_wall = min(best_wall, wall / len(frames) / 1e6)
    return best_cpu, best_wall


def interleaved(
    frames: Sequence[np.ndarray], small: Sequence[np.ndarray], config: MotionConfig, repeat: int
) -> tuple[float, float, float]:
    """Ours and MOG2 alone at 100 px timed frame by frame in turn, so both see the same load.

    Returns (best mean ms ours, best mean ms MOG2 alone, median of the runs' ratios)."""
    ours_runs, ref_runs, ratios = [], [], []
    for _ in range(repeat):
        gate = Mog2MotionGate(config)
        mog = cv2.createBackgroundSubtractorMOG2(history=50, varThreshold=25, detectShadows=False)
        ours = ref = 0
        for i, image in enumerate(frames):
            t0 = time.process_time_ns()
            gate.update(Frame(i, 0.0, image))
            t1 = time.process_time_ns()
            mog.apply(small[i])
            t2 = time.process_time_ns()
            ours, ref = ours + t1 - t0, ref + t2 - t1
        ours_runs.append(ours / len(frames) / 1e6)
        ref_runs.append(ref / len(frames) / 1e6)
        ratios.append(ours / ref)
    return min(ours_runs), min(ref_runs), float(np.median(ratios))


def gate_step(config: MotionConfig) -> Callable[[], Callable[[np.ndarray], object]]:
    def make() -> Callable[[np.ndarray], object]:
        gate = Mog2MotionGate(config)
        counter = iter(range(10**9))
        return lambda image: gate.update(Frame(next(counter), 0.0, image))

    return make


def full_mog2() -> Callable[[np.ndarray], object]:
    mog = cv2.createBackgroundSubtractorMOG2(history=50, varThreshold=25, detectShadows=False)
    return mog.apply


def prescaled_mog2(frames: Sequence[np.ndarray]) -> tuple[list[np.ndarray], Callable[[], Callable[[np.ndarray], object]]]:
    """MOG2 alone on frames scaled to 100 px high and grey beforehand (DESIGN.md's 0.3 ms figure)."""
    h, w = frames[0].shape[:2]
    small = [
        cv2.cvtColor(cv2.resize(f, (round(w * 100 / h), 100), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY) for f in frames
    ]

    def make() -> Callable[[np.ndarray], object]:
        return cv2.createBackgroundSubtractorMOG2(history=50, varThreshold=25, detectShadows=False).apply

    return small, make


def textbook_small_mog2() -> Callable[[np.ndarray], object]:
    mog = cv2.createBackgroundSubtractorMOG2(history=50, varThreshold=25, detectShadows=False)

    def step(image: np.ndarray) -> object:
        h, w = image.shape[:2]
        small = cv2.resize(image, (round(w * 100 / h), 100), interpolation=cv2.INTER_AREA)
        return mog.apply(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY))

    return step


def quietness(clip: Sequence[np.ndarray], config: MotionConfig, every: int) -> dict[str, float]:
    gate = Mog2MotionGate(config)
    flags: list[tuple[float, bool]] = []
    for index in range(0, len(clip), every):
        ts = index / VTEST_FPS
        flags.append((ts, gate.update(Frame(index, ts, clip[index])).moving))
    start = QUIET_STILL / VTEST_FPS
    early = sum(moving for ts, moving in flags if ts < BAR_SETTLE_S)
    late = sum(moving for ts, moving in flags if BAR_SETTLE_S <= ts < start)
    moving_part = [moving for ts, moving in flags if ts >= start]
    delay = next((i for i, moving in enumerate(moving_part) if moving), -1)
    return {
        "first_2s": early,
        "still_after_2s": late,
        "still_frames": sum(1 for ts, _ in flags if BAR_SETTLE_S <= ts < start),
        "delay": delay,
        "moving_flagged": sum(moving_part) / max(1, len(moving_part)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--fps", type=float, default=5.0, help="analysis rate (default 5)")
    parser.add_argument("--threads", type=int, default=1, help="cv2.setNumThreads (default 1: a camera worker's one core)")
    args = parser.parse_args()
    cv2.setNumThreads(args.threads)
    every = max(1, round(VTEST_FPS / args.fps))
    config = MotionConfig()
    print(f"motion gate benchmark — OpenCV {cv2.__version__}, {os.cpu_count()} CPUs, cv2 threads {cv2.getNumThreads()}")
    print(f"load average before: {load_average()}")
    print(f"config: {config.model_dump()}")

    frames = read_frames(VTEST)
    h, w = frames[0].shape[:2]
    print(f"\n== cost on {VTEST.name} ({len(frames)} frames, {w}x{h}), best mean of {args.repeat} runs ==")
    rows: list[tuple[str, float, float]] = []
    ours_all = best_mean_ms(frames, gate_step(config), args.repeat)
    ours_sampled = best_mean_ms(frames[::every], gate_step(config), args.repeat)
    small_h = -(-h // max(1, round(h / config.frame_height)))
    rows.append((f"ours ({small_h} px high), every frame (10 fps)", *ours_all))
    rows.append((f"ours ({small_h} px high), every {every}. frame ({VTEST_FPS / every:g} fps)", *ours_sampled))
    at100 = config.model_copy(update={"frame_height": 100})
    rows.append(
        (
            f"ours at frame_height=100 ({-(-h // round(h / 100))} px high), every frame",
            *best_mean_ms(frames, gate_step(at100), args.repeat),
        )
    )
    small, make = prescaled_mog2(frames)
    prescaled = best_mean_ms(small, make, args.repeat)
    rows.append(("MOG2 alone on a prescaled 100 px grey frame (ref. 0.3 ms)", *prescaled))
    rows.append(
        ("cv2.resize INTER_AREA to 100 px + cvtColor + MOG2", *best_mean_ms(frames, lambda: textbook_small_mog2(), args.repeat))
    )
    full = best_mean_ms(frames[:200], lambda: full_mog2(), 1)
    rows.append(("MOG2 on the full colour frame, one thread (ref. 4.6 ms)", *full))
    print(f"{'':62} {'cpu ms':>8} {'wall ms':>8}")
    for name, cpu, wall in rows:
        print(f"{name:62} {cpu:8.3f} {wall:8.3f}")
    # The bar (0.3 ms) is what MOG2 alone costs at 100 px on the reference machines, so the ratio of
    # ours to that, timed frame by frame in turn (the same load for both), is the machine-independent
    # reading of the bar (≤ 1).
    ours_i, ref_i, ratio = interleaved(frames, small, config, args.repeat)
    slow = ref_i / BAR_MS
    print(
        f"interleaved frame by frame: ours {ours_i:.3f} ms, MOG2 alone at 100 px {ref_i:.3f} ms; "
        f"ours / MOG2 alone at 100 px = {ratio:.2f} (median of {args.repeat} runs; ≤ 1.00 meets the bar anywhere)"
    )
    print(
        f"this machine now / the reference machines (MOG2 at 100 px): ×{slow:.2f}; ours / full-size MOG2: {ours_all[0] / full[0]:.3f}"
    )

    print(f"\n== quiet clip: {QUIET_STILL} still frames then 100 moving, from {VTEST.name} ==")
    base = read_frames(VTEST, limit=101)
    clips: dict[str, list[np.ndarray]] = {
        "clean (exact repeats)": quiet_clip(base),
        "sensor noise σ=2": quiet_clip(base, noise=2.0),
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = encode(clips["clean (exact repeats)"], Path(tmp) / "quiet.mp4")
        clips["H.264 (ffmpeg crf 23, key frame / 2 s)"] = read_frames(path)
    results = []
    print(f"{'clip':42} {'fps':>4} {'cpu ms':>7} {'<2 s':>5} {'still>2s':>9} {'delay':>6} {'moving':>7}")
    for name, clip in clips.items():
        for step in sorted({every, 1}, reverse=True):
            q = quietness(clip, config, step)
            cost = best_mean_ms(clip[::step], gate_step(config), args.repeat)[0]
            results.append((name, step, q, cost))
            flagged = f"{q['still_after_2s']}/{q['still_frames']}"
            print(
                f"{name:42} {VTEST_FPS / step:4g} {cost:7.3f} {q['first_2s']:5d} {flagged:>9} {q['delay']:6d} {q['moving_flagged']:7.0%}"
            )

    print("\n== against DESIGN.md §10 ==")
    worst_cost = max(ours_all[0], ours_sampled[0])
    normalised = ratio * BAR_MS
    print(
        f"cost: {worst_cost:.3f} ms a frame (cpu) = {worst_cost / BAR_MS:.2f}× the 0.3 ms bar: {'MET' if worst_cost <= BAR_MS else 'NOT MET'}; "
        f"on the reference machine (ratio to MOG2 alone at 100 px × 0.3 ms) {normalised:.3f} ms = {normalised / BAR_MS:.2f}× the bar: "
        f"{'MET' if normalised <= BAR_MS else 'NOT MET'}"
    )
    print(
        f"       Frigate's detector on the reference machine: 0.45 ms; ours normalised = {normalised / REFERENCE_FRIGATE_MS:.2f}× it"
    )
    loud = [(n, s, q["still_after_2s"]) for n, s, q, _ in results if q["still_after_2s"]]
    print(f"quiet after {BAR_SETTLE_S:g} s: {'MET, 0 frames flagged on every clip and rate' if not loud else f'NOT MET {loud}'}")
    slow_react = [(n, s, q["delay"]) for n, s, q, _ in results if not 0 <= q["delay"] <= BAR_REACTION]
    delays = sorted({int(q["delay"]) for _, _, q, _ in results})
    print(f"reaction within {BAR_REACTION} frame: {'MET' if not slow_react else f'NOT MET {slow_react}'} (delays seen: {delays})")
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
