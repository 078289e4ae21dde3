"""Evidence export: hashing, C2PA signing and bundling of ~1 GB of clips against ``sha256sum`` + ``cp``.

A benchmark, not a test. Run it from the repository root:

    .venv/bin/python bench/export.py [--size-mb 1024] [--clips 4] [--repeat 3] [--dir /tmp]

DESIGN.md §10: a case with 1 GB of clips is hashed, signed and bundled in at most twice the time that
``sha256sum`` plus ``cp`` take on the same files (video does not compress: the zip stores it).

It makes ``--clips`` MP4 files of about ``--size-mb`` in all (lossless H.264 of noise: incompressible,
like real footage), then times, the best of ``--repeat`` runs each, with the files in the page cache
for both (one warm-up read first):

- the baseline: ``sha256sum`` of the files, then ``cp`` of the files into an empty folder;
- the export core (``incidents.bundle.BundleWriter``, what the worker runs): each clip signed with
  C2PA content credentials (the original as parent ingredient), stored in the zip while hashed, then
  the manifest with every hash written and signed with Ed25519, the zip hashed as it is written.

No database: the case facts and custody log are small and fixed here; their cost is in the tests.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchlib import load_average  # noqa: E402

from incidents.bundle import BundleWriter, MediaItem  # noqa: E402
from incidents.keys import load_keys  # noqa: E402
from incidents.verify import verify_bundle  # noqa: E402


def make_clip(path: Path, megabytes: int) -> None:
    """An incompressible MP4 of about ``megabytes`` (lossless H.264 of noise at 640×480, 25 fps)."""
    seconds = max(1, round(megabytes / 12))  # ~12 MB a second at qp 0
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "nullsrc=s=640x480:r=25,geq=lum='random(1)*255':cb=128:cr=128",
         "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p", str(path)],
        check=True,
    )  # fmt: skip


def warm(paths: list[Path]) -> None:
    for path in paths:
        with open(path, "rb") as handle:
            while handle.read(8 << 20):
                pass


def baseline(paths: list[Path], work: Path) -> float:
    target = work / "cp"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir()
    started = time.perf_counter()
    subprocess.run(["sha256sum", *map(str, paths)], check=True, capture_output=True)
    subprocess.run(["cp", *map(str, paths), str(target)], check=True)
    elapsed = time.perf_counter() - started
    shutil.rmtree(target)
    return elapsed


def ours(paths: list[Path], work: Path, keys_dir: Path) -> tuple[float, Path]:
    keys = load_keys(keys_dir)
    dest = work / "bundle.zip"
    dest.unlink(missing_ok=True)
    started = time.perf_counter()
    with BundleWriter(dest, keys) as writer:
        for n, path in enumerate(paths, start=1):
            # The sha256 recorded at intake is known: it is not re-read here (nor by the worker).
            entry = {"evidence": n, "kind": "clip", "camera": f"CAM-{n}", "original_sha256": "0" * 64, "original_size": 0}
            assertion = {"case": "BENCH-2026-0001", "ward": "bench", "camera": f"CAM-{n}", "original_sha256": "0" * 64}
            writer.add(
                MediaItem(
                    source=path,
                    arcname=f"media/{n:03d}-clip.mp4",
                    content_type="video/mp4",
                    entry=entry,
                    assertion=assertion,
                    original=path,
                )
            )
        facts = {
            "case": {"number": "BENCH-2026-0001", "ward": {"slug": "bench", "name": "Bench"}},
            "created_at": "",
            "redacted": False,
        }
        writer.finish(facts=facts, custody=[])
    return time.perf_counter() - started, dest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--clips", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", default=tempfile.gettempdir(), help="where the clips and bundles are written")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="matthan-bench-export-", dir=args.dir))
    try:
        print(f"making {args.clips} clips of {args.size_mb // args.clips} MB in {work} ...", flush=True)
        first = work / "clip-1.mp4"
        make_clip(first, args.size_mb // args.clips)
        paths = [first]
        for n in range(2, args.clips + 1):  # same footage, separate files (the work is per byte)
            copy = work / f"clip-{n}.mp4"
            shutil.copyfile(first, copy)
            paths.append(copy)
        total = sum(p.stat().st_size for p in paths)
        keys_dir = work / "keys"
        warm(paths)
        base_runs, our_runs = [], []
        for _ in range(args.repeat):
            base_runs.append(baseline(paths, work))
            elapsed, bundle = ours(paths, work, keys_dir)
            our_runs.append(elapsed)
        report = verify_bundle(str(bundle), trusted_keys=[load_keys(keys_dir).fingerprint])
        base, mine = min(base_runs), min(our_runs)
        mb = total / 1e6
        print(f"clips: {len(paths)}, {mb:,.0f} MB; bundle {bundle.stat().st_size / 1e6:,.0f} MB; load {load_average()}")
        print(f"sha256sum + cp : {base:6.2f} s  ({mb / base:,.0f} MB/s)   runs {', '.join(f'{t:.2f}' for t in base_runs)}")
        print(f"export (ours)  : {mine:6.2f} s  ({mb / mine:,.0f} MB/s)   runs {', '.join(f'{t:.2f}' for t in our_runs)}")
        print(f"ratio          : {mine / base:.2f}× (bar: at most 2×)  {'PASS' if mine <= 2 * base else 'FAIL'}")
        print(f"bundle verifies: {report.ok}; sha256 of a clip in Python alone: ", end="")
        started = time.perf_counter()
        digest = hashlib.sha256()
        with open(paths[0], "rb") as handle:
            while chunk := handle.read(8 << 20):
                digest.update(chunk)
        print(f"{paths[0].stat().st_size / 1e6 / (time.perf_counter() - started):,.0f} MB/s")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        os.sync()


if __name__ == "__main__":
    main()
