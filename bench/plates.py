"""Plate reading: milliseconds per plate and exact-read rate by glyph size and blur, on rendered plates.

A benchmark, not a test. Run it from the repository root:

    .venv/bin/python bench/plates.py [--count 20] [--sizes 12,16,20,28,36,44,60] [--blurs 0,1,2] [--threads 1]

Options:
    --count N      plates per (size, blur) cell (default 20)
    --sizes LIST   glyph heights in pixels, the height of a digit (default 12,16,20,28,36,44,60)
    --blurs LIST   Gaussian blur sigmas in pixels (default 0,1,2)
    --threads N    ONNX Runtime intra-op threads of the reader (default 1; 0: as many as cores)
    --warp F       perspective: corners moved by up to F of the plate's size (default 0.06)
    --angle DEG    rotation up to ±DEG degrees (default 3)
    --seed N       plate texts and distortions (default 1)

What it does: renders random Vietnamese plates that follow the grammar (``tests/plates/render.py``:
one-line car plates, two-line square car plates and two-line motorbike plates, mostly Ho Chi Minh
City, JPEG-compressed, with sensor noise, tilt and warp on a textured background), then reads each
with ``RapidOCRPlateReader`` (detector + recogniser + plate grammar) and compares the best read's
text with the rendered one. Rendering is not timed.

What it prints, per cell and then by size, by blur, by layout and in all: plates, exact reads (%),
of which the grammar fixed a letter/digit slip ("fixed"), wrong reads, plates with no read, the
median and 95th-percentile milliseconds per plate (one ``read`` call on the plate image, which is
~2.5-4.5 glyph heights tall), and the median confidence of right and of wrong reads. The load average before and after is printed too: this machine is
shared, so the times are upper bounds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from benchlib import load_average

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.plates.rapidocr_reader import RapidOCRPlateReader, RapidOCRReaderConfig  # noqa: E402
from tests.plates.render import random_plates  # noqa: E402


@dataclass
class Result:
    size: int
    blur: float
    kind: str
    outcome: str  # "exact", "fixed" (exact after a grammar fix), "wrong", "none"
    ms: float
    confidence: float  # of the best read; 0 when none


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in text.split(",") if v.strip())


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}" if values else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--sizes", default="12,16,20,28,36,44,60")
    parser.add_argument("--blurs", default="0,1,2")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--warp", type=float, default=0.06)
    parser.add_argument("--angle", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    sizes = tuple(int(v) for v in _floats(args.sizes))
    blurs = _floats(args.blurs)

    print(f"cores: {os.cpu_count()}, load average before: {load_average()}")
    started = time.perf_counter()
    reader = RapidOCRPlateReader(RapidOCRReaderConfig(threads=args.threads))
    print(f"model: {reader.model}, threads: {args.threads or 'all'}, loaded in {time.perf_counter() - started:.2f} s")

    results: list[Result] = []
    warmup = random_plates(1, seed=0)[0]
    reader.read(warmup.image)
    for index, size in enumerate(sizes):
        for blur_index, blur in enumerate(blurs):
            seed = args.seed * 10_007 + index * 101 + blur_index
            plates = random_plates(args.count, seed=seed, glyph_heights=(size,), blurs=(blur,), warp=args.warp, angle=args.angle)
            for plate in plates:
                t0 = time.perf_counter()
                reads = reader.read(plate.image)
                ms = (time.perf_counter() - t0) * 1000
                if not reads:
                    outcome = "none"
                elif reads[0].text != plate.text:
                    outcome = "wrong"
                elif reads[0].plate is not None and reads[0].plate.corrections:
                    outcome = "fixed"
                else:
                    outcome = "exact"
                results.append(Result(size, blur, plate.spec.kind, outcome, ms, reads[0].confidence if reads else 0.0))

    header = (
        f"{'':<18} {'plates':>6} {'exact':>7} {'fixed':>5} {'wrong':>5} {'none':>5} {'ms p50':>7} {'ms p95':>7}"
        f" {'conf right':>10} {'conf wrong':>10}"
    )

    def row(label: str, group: list[Result]) -> str:
        n = len(group)
        count = defaultdict(int)
        for r in group:
            count[r.outcome] += 1
        exact = count["exact"] + count["fixed"]
        times = sorted(r.ms for r in group)
        p95 = times[min(n - 1, round(0.95 * (n - 1)))]
        right = [r.confidence for r in group if r.outcome in ("exact", "fixed")]
        wrong = [r.confidence for r in group if r.outcome == "wrong"]
        return (
            f"{label:<18} {n:>6} {100 * exact / n:>6.1f}% {count['fixed']:>5} {count['wrong']:>5} {count['none']:>5} "
            f"{statistics.median(times):>7.1f} {p95:>7.1f} {_median(right):>10} {_median(wrong):>10}"
        )

    print()
    print("by glyph height and blur")
    print(header)
    for size in sizes:
        for blur in blurs:
            print(row(f"{size} px, blur {blur:g}", [r for r in results if r.size == size and r.blur == blur]))
    print()
    print("by glyph height")
    print(header)
    for size in sizes:
        print(row(f"{size} px", [r for r in results if r.size == size]))
    print()
    print("by blur")
    print(header)
    for blur in blurs:
        print(row(f"blur {blur:g}", [r for r in results if r.blur == blur]))
    print()
    print("by layout")
    print(header)
    for kind in ("car", "car-square", "motorbike"):
        group = [r for r in results if r.kind == kind]
        if group:
            print(row(kind, group))
    print()
    print(header)
    print(row("all", results))
    in_range = [r for r in results if 28 <= r.size <= 44]
    if in_range:
        print(row("all, 28-44 px", in_range))
    print(f"\nload average after: {load_average()}")


if __name__ == "__main__":
    main()
