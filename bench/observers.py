"""Track observers: milliseconds a plate read on a vehicle crop and a face (detect + embed) on a person crop.

A benchmark, not a test. Run it from the repository root:

    .venv/bin/python bench/observers.py [--repeat 20] [--threads 1]

What it does: builds the plate observer's scene (vtest.avi's first frame with a painted car carrying
a rendered one-line plate and a motorbike with a two-line plate, as ``tests/pipeline/test_plate_observer.py``)
and times, per vehicle, what the observer hands the reader (the padded box without its top quarter):
the whole read, the text detector alone on the same crop with the plate painted over (what a look
that finds nothing costs), and the read of the plate alone (what a separate plate localiser could
at best leave). Then the face observer's work on a person whose upper half is a real portrait
(``227943776_1.jpg`` from opencv-doc, 260 px): MTCNN on the upper crop, dlib's embedding of the
face, and MTCNN on a vtest-sized person (the upper half of a 45×110 box, where no face is big
enough: the usual cost on that clip). Medians of ``--repeat`` runs after one warm-up; the load
average before and after is printed: the machine is shared, so the times are upper bounds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from benchlib import load_average

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.faces import make_detector, make_embedder  # noqa: E402
from analytics.pipeline.base import Box  # noqa: E402
from analytics.pipeline.clips import VTEST, read_frames  # noqa: E402
from analytics.pipeline.config import FacesConfig, PlatesConfig  # noqa: E402
from analytics.pipeline.observers.common import crop  # noqa: E402
from analytics.plates import make_reader  # noqa: E402
from tests.pipeline.test_plate_observer import BIKE, CAR, paint_vehicle  # noqa: E402

PORTRAIT = Path("/usr/share/doc/opencv-doc/opencv4/html/227943776_1.jpg")


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--threads", type=int, default=FacesConfig().threads, help="torch threads of the face detector")
    args = parser.parse_args()
    print(f"load average before: {load_average()}")

    plates = PlatesConfig()
    reader = make_reader(plates.reader, {"det_max_side": plates.det_max_side})
    image = read_frames(VTEST, limit=1)[0].copy()
    vehicles = {
        "car, one-line plate": (CAR, paint_vehicle(image, CAR, 24, (60, 150, 260, 220), seed=5), Box(60, 150, 320, 370)),
        "motorbike, two-line plate": (
            BIKE,
            paint_vehicle(image, BIKE, 22, (450, 200, 150, 240), seed=6),
            Box(450, 200, 600, 440),
        ),
    }
    print(f"\nplates: {reader.model}")
    for label, (spec, plate_box, vehicle) in vehicles.items():
        pixels, _, _ = crop(image, vehicle, padding=plates.padding, top=plates.skip_top)
        reads = reader.read(pixels)
        ok = bool(reads) and reads[0].text == spec.text
        no_plate = image.copy()
        x1, y1, x2, y2 = (round(v) for v in plate_box.as_tuple())
        no_plate[y1:y2, x1:x2] = (40, 40, 150)
        empty, _, _ = crop(no_plate, vehicle, padding=plates.padding, top=plates.skip_top)
        plate_only = image[y1:y2, x1:x2]
        print(
            f"  {label}: crop {pixels.shape[1]}x{pixels.shape[0]} read {'right' if ok else 'WRONG'}: "
            f"{_median_ms(lambda p=pixels: reader.read(p), args.repeat):.1f} ms a read; "
            f"no plate on the crop {_median_ms(lambda p=empty: reader.read(p), args.repeat):.1f} ms; "
            f"plate alone {_median_ms(lambda p=plate_only: reader.read(p), args.repeat):.1f} ms"
        )

    faces = FacesConfig()
    detector = make_detector(faces.detector, min_face_px=faces.min_face_px, threads=args.threads)
    embedder = make_embedder(faces.embedder)
    frame = np.full((576, 768, 3), 110, np.uint8)
    frame[20:280, 250:510] = cv2.resize(cv2.imread(str(PORTRAIT)), (260, 260), interpolation=cv2.INTER_AREA)
    upper, _, _ = crop(frame, Box(250, 20, 510, 540), padding=faces.padding, bottom=faces.upper_fraction)
    found = detector.detect(upper)
    print(f"\nfaces: {detector.model} + {embedder.model}")
    if not found:
        print("  no face found on the portrait: something is wrong")
        return
    detect_ms = _median_ms(lambda: detector.detect(upper), args.repeat)
    embed_ms = _median_ms(lambda: embedder.embed(upper, found[0]), args.repeat)
    small, _, _ = crop(
        read_frames(VTEST, limit=1)[0], Box(300, 200, 345, 310), padding=faces.padding, bottom=faces.upper_fraction
    )
    print(
        f"  person crop {upper.shape[1]}x{upper.shape[0]}, face {found[0].size:.0f} px: detect {detect_ms:.1f} ms + "
        f"embed {embed_ms:.1f} ms = {detect_ms + embed_ms:.1f} ms a face"
    )
    print(
        f"  vtest-sized person, crop {small.shape[1]}x{small.shape[0]}: detect "
        f"{_median_ms(lambda: detector.detect(small), args.repeat):.1f} ms (no face of {faces.min_face_px}+ px)"
    )
    print(f"\nload average after: {load_average()}")


if __name__ == "__main__":
    main()
