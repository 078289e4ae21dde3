"""``manage.py read_plates IMAGE...``: one JSON line per image, errors named, non-zero exit when any image failed."""

from __future__ import annotations

import json
import random
from io import StringIO
from pathlib import Path

import cv2
import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.plates.render import PlateSpec, render


def _lines(out: StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_reads_images_and_reports_bad_files(tmp_path: Path) -> None:
    rng = random.Random(1)
    car = tmp_path / "car.jpg"
    cv2.imwrite(str(car), render(PlateSpec("car", ("51F-123.45",), "51F-123.45"), 36, rng=rng).image)
    bike = tmp_path / "xe máy.png"  # a Vietnamese file name
    bike.write_bytes(
        cv2.imencode(".png", render(PlateSpec("motorbike", ("59-S1", "234.56"), "59-S1 234.56"), 36, rng=rng).image)[1]
    )
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    missing = tmp_path / "missing.jpg"

    out = StringIO()
    with pytest.raises(CommandError, match="4 of 6 image"):
        call_command("read_plates", str(car), str(bike), str(text), str(empty), str(missing), str(tmp_path), stdout=out)
    lines = _lines(out)
    assert [line["image"] for line in lines] == [str(p) for p in (car, bike, text, empty, missing, tmp_path)]

    first, second = lines[0], lines[1]
    assert "rapidocr" in str(first["model"]) and "PP-OCRv6" in str(first["model"])
    assert isinstance(first["plates"], list) and isinstance(second["plates"], list)
    assert [p["text"] for p in first["plates"]] == ["51F-123.45"]
    assert [p["text"] for p in second["plates"]] == ["59-S1 234.56"]
    plate = second["plates"][0]
    assert set(plate) == {"text", "key", "confidence", "box"}
    assert plate["key"] == "595123456"
    assert 0 < plate["confidence"] <= 1
    assert len(plate["box"]) == 4 and all(isinstance(v, int) for v in plate["box"])

    assert [line.get("error") for line in lines[2:]] == [
        "not an image (cannot decode it)",
        "empty file",
        "no such file",
        "not a file",
    ]
    assert all("plates" not in line for line in lines[2:])


def test_all_good_exits_zero(tmp_path: Path) -> None:
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((100, 200, 3), 255, np.uint8))
    out = StringIO()
    call_command("read_plates", str(blank), stdout=out)  # no CommandError: exit status 0
    [line] = _lines(out)
    assert line["image"] == str(blank) and line["plates"] == [] and "PP-OCRv6" in str(line["model"])
