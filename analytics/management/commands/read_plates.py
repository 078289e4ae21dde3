"""``python manage.py read_plates IMAGE...``: one JSON line per image with the plates read in it (DESIGN.md §9)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from django.core.management.base import BaseCommand, CommandError

from analytics.plates import make_reader
from analytics.plates.base import PlateReader

MAX_IMAGE_BYTES = 50 * 1024 * 1024


class Command(BaseCommand):
    help = (
        "Read the licence plates in each image. Prints one JSON line per image: "
        '{"image", "plates": [{"text", "key", "confidence", "box"}], "model"}, or {"image", "error"} for a '
        "file that is missing or no image; the command then exits non-zero after the last image."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files (JPEG, PNG, BMP, TIFF, WebP...)")
        parser.add_argument("--min-confidence", type=float, default=0.0, help="drop reads less confident than this (0-1)")
        parser.add_argument(
            "--include-invalid", action="store_true", help="also list text that fits no Vietnamese plate (valid: false)"
        )
        parser.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads (0: as many as cores; default 1)")

    def handle(self, *args: Any, **options: Any) -> None:
        config = {
            "min_confidence": options["min_confidence"],
            "include_invalid": options["include_invalid"],
            "threads": options["threads"],
        }
        try:
            reader = make_reader("rapidocr", config)
        except (ValueError, FileNotFoundError, ImportError) as exc:
            raise CommandError(f"plate reader unavailable: {exc}") from exc
        failed = 0
        for name in options["images"]:
            line = self._one(reader, name, include_invalid=options["include_invalid"])
            failed += "error" in line
            self.stdout.write(json.dumps(line, ensure_ascii=False))
        if failed:
            raise CommandError(f"{failed} of {len(options['images'])} image(s) could not be read")

    def _one(self, reader: PlateReader, name: str, *, include_invalid: bool) -> dict[str, Any]:
        path = Path(name)
        if not path.exists():
            return {"image": name, "error": "no such file"}
        if not path.is_file():
            return {"image": name, "error": "not a file"}
        size = path.stat().st_size
        if size > MAX_IMAGE_BYTES:
            return {"image": name, "error": f"larger than {MAX_IMAGE_BYTES} bytes"}
        try:
            data = path.read_bytes()
        except OSError as exc:
            return {"image": name, "error": f"cannot read: {exc.strerror or exc}"}
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
        if image is None:
            return {"image": name, "error": "not an image (cannot decode it)" if data else "empty file"}
        plates = []
        for read in reader.read(image):
            item = read.as_dict()
            if include_invalid:
                item["valid"] = read.valid
            plates.append(item)
        return {"image": name, "plates": plates, "model": reader.model}
