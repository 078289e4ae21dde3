"""The RapidOCR plate reader on rendered Vietnamese plates (real OCR models from the rapidocr wheel, no Django).

About 10 s on a loaded 2-core machine: one reader for the module, 60 plates of 72-665 px width.
"""

from __future__ import annotations

import random
from collections import Counter

import cv2
import numpy as np
import pytest

from analytics.plates import make_reader
from analytics.plates.base import PlateReader
from analytics.plates.rapidocr_reader import RapidOCRPlateReader, RapidOCRReaderConfig, _Line, _plates, _rows
from tests.plates.render import PlateSpec, random_plates, render, scene


@pytest.fixture(scope="module")
def reader() -> RapidOCRPlateReader:
    return RapidOCRPlateReader()


def _iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def test_reads_rendered_plates_exactly(reader: RapidOCRPlateReader) -> None:
    """60 plates, one- and two-line, glyphs 28-60 px, sharp to blurred, tilted and warped: >= 95% exact."""
    plates = random_plates(60, seed=2024, glyph_heights=(28, 36, 44, 60), blurs=(0.0, 0.8, 1.5), warp=0.06, angle=3.0)
    kinds = Counter(p.spec.kind for p in plates)
    assert kinds["car"] >= 15 and kinds["motorbike"] >= 15 and kinds["car-square"] >= 1
    misses = []
    for plate in plates:
        reads = reader.read(plate.image)
        got = reads[0].text if reads else None
        if got != plate.text:
            misses.append((plate.text, got, plate.glyph_height, plate.blur))
            continue
        best = reads[0]
        assert 0.0 < best.confidence <= 1.0
        assert best.valid and best.key == best.plate.key  # type: ignore[union-attr]
        assert _iou(best.box, plate.box) > 0.5, (best.box, plate.box)
        assert best.crop.shape == (best.box[3] - best.box[1], best.box[2] - best.box[0], 3)
    exact = 1 - len(misses) / len(plates)
    assert exact >= 0.95, misses


def test_series_read_as_digit_is_fixed(reader: RapidOCRPlateReader) -> None:
    """A plate whose series position shows ``51`` (``59-S1`` read as ``59-51``) comes out as ``59-S1``."""
    rng = random.Random(3)
    printed = PlateSpec("motorbike", ("59-51", "234.56"), "59-51 234.56")
    plate = render(printed, 40, rng=rng, blur=0.5)
    reads = reader.read(plate.image)
    assert [r.text for r in reads] == ["59-S1 234.56"]
    read = reads[0]
    assert read.lines == ("59-51", "234.56")
    assert read.plate is not None and read.plate.corrections == 1
    assert read.confidence < read.ocr_score  # a fixed read is trusted less than one that fitted as read


def test_vehicle_crop_with_two_plates_and_other_text(reader: RapidOCRPlateReader) -> None:
    rng = random.Random(11)
    car = render(PlateSpec("car", ("51F-123.45",), "51F-123.45"), 32, rng=rng, angle=0, warp=0.02)
    bike = render(PlateSpec("motorbike", ("59-X1", "2345"), "59-X1 2345"), 32, rng=rng, angle=0, warp=0.02)
    image = scene([car, bike], size=(360, 640))
    texts = sorted(r.text for r in reader.read(image))
    assert texts == ["51F-123.45", "59-X1 2345"]  # "HONDA" fits no plate and is left out


def test_invalid_text_on_request() -> None:
    rng = random.Random(11)
    car = render(PlateSpec("car", ("51F-123.45",), "51F-123.45"), 32, rng=rng, angle=0, warp=0.02)
    image = scene([car], size=(300, 400))
    reader = make_reader("rapidocr", {"include_invalid": True})
    reads = reader.read(image)
    assert [(r.text, r.valid) for r in reads] == [("51F-123.45", True), ("HONDA", False)]
    assert reads[1].confidence < reads[0].confidence


def test_image_forms(reader: RapidOCRPlateReader) -> None:
    rng = random.Random(5)
    plate = render(PlateSpec("car", ("30K-555.67",), "30K-555.67"), 36, rng=rng)
    grey = cv2.cvtColor(plate.image, cv2.COLOR_BGR2GRAY)
    assert [r.text for r in reader.read(grey)] == ["30K-555.67"]
    bgra = cv2.cvtColor(plate.image, cv2.COLOR_BGR2BGRA)
    assert [r.text for r in reader.read(bgra)] == ["30K-555.67"]
    assert reader.read(np.full((120, 300, 3), 255, np.uint8)) == []
    assert reader.read(np.zeros((4, 4, 3), np.uint8)) == []
    for bad in (np.zeros((0, 0, 3), np.uint8), np.zeros((10, 10, 3), np.float32), np.zeros((10, 10, 2), np.uint8)):
        with pytest.raises(ValueError):
            reader.read(bad)


def test_model_is_named_and_config_is_strict(reader: RapidOCRPlateReader) -> None:
    assert isinstance(reader, PlateReader)
    assert "rapidocr" in reader.model and "PP-OCRv6" in reader.model and "onnxruntime" in reader.model
    with pytest.raises(ValueError, match="extra"):
        RapidOCRReaderConfig.model_validate({"det_max_side": 640, "colour": "red"})
    with pytest.raises(ValueError, match="unknown plate reader"):
        make_reader("tesseract")


def _line(text: str, x0: float, y0: float, x1: float, y1: float, score: float = 0.99) -> _Line:
    return _Line.of(np.float32([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]), text, score)


def test_grouping_by_geometry() -> None:
    """Lines side by side form a row; a row just below another, as wide and as tall, completes a two-line plate."""
    lines = [
        _line("51F-", 10, 10, 60, 40),  # a one-line plate the detector cut at its dash
        _line("123.45", 66, 11, 150, 41),
        _line("59-S1", 220, 10, 290, 40),  # a motorbike plate: two lines
        _line("234.56", 210, 48, 300, 78),
        _line("30K-555.67", 10, 200, 150, 230),  # two car plates, one above the other: never one plate
        _line("51G-111.22", 10, 236, 150, 266),
        _line("59-X1", 400, 10, 470, 40),  # a line far below another is no second line
        _line("2345", 400, 150, 470, 180),
    ]
    groups = _plates(_rows(lines))
    found = sorted((tuple(row.text for row in rows), plate.text if plate else None) for rows, plate in groups)
    assert found == [
        (("2345",), None),
        (("30K-555.67",), "30K-555.67"),
        (("51F- 123.45",), "51F-123.45"),
        (("51G-111.22",), "51G-111.22"),
        (("59-S1", "234.56"), "59-S1 234.56"),
        (("59-X1",), None),
    ]
