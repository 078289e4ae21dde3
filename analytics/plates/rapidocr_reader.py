"""Plate reader on RapidOCR: PP-OCR text detection and recognition (ONNX models shipped in the ``rapidocr`` wheel).

The detector finds the text lines of the image; lines side by side are joined into rows, and a row
with another just below it, of the same height and overlapping it, is tried as a two-line plate
(motorbikes, square car plates). Each row or pair of rows goes through the plate grammar, which fixes
letter/digit slips by position; what fits no plate is dropped (or returned as invalid on request).

Nothing is downloaded: the model files are taken from the wheel by path, and a missing one is an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from analytics.plates.base import Box, PlateRead, PlateReader
from analytics.plates.grammar import PlateText, parse, search_key

_ALNUM = re.compile(r"[0-9A-Za-zĐđ]")


class RapidOCRReaderConfig(BaseModel):
    """Settings of the RapidOCR plate reader."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    det_max_side: int = Field(
        default=960, ge=64, le=4096, description="the detector sees the image scaled down to this longest side"
    )
    min_side: int = Field(default=48, ge=16, le=512, description="smaller images are enlarged to this shorter side first")
    text_score: float = Field(default=0.3, ge=0.0, le=1.0, description="OCR lines scored lower are ignored")
    min_confidence: float = Field(default=0.0, ge=0.0, le=1.0, description="reads less confident than this are dropped")
    include_invalid: bool = Field(default=False, description="also return text that fits no plate grammar (valid=false)")
    invalid_factor: float = Field(default=0.3, ge=0.0, le=1.0, description="confidence of an invalid read: OCR score × this")
    # One thread by default: a pipeline runs readers in several processes, and ONNX Runtime's spinning
    # thread pool, sharing cores with them, made a read 3-5x slower here (bench/plates.py shows both).
    threads: int = Field(default=1, ge=0, le=64, description="ONNX Runtime intra-op threads; 0: as many as cores")


@dataclass(frozen=True)
class _Line:
    text: str
    score: float
    x0: float
    y0: float
    x1: float
    y1: float
    height: float  # of the text line itself (a tilted box's side, not its axis-aligned extent)

    @classmethod
    def of(cls, quad: np.ndarray, text: str, score: float) -> _Line:
        xs, ys = quad[:, 0], quad[:, 1]
        height = (float(np.linalg.norm(quad[3] - quad[0])) + float(np.linalg.norm(quad[2] - quad[1]))) / 2
        return cls(text, score, float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()), height)

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2


@dataclass(frozen=True)
class _Row:
    """Text lines side by side, left to right."""

    parts: tuple[_Line, ...]

    @property
    def text(self) -> str:
        return " ".join(p.text for p in self.parts)

    @property
    def x0(self) -> float:
        return min(p.x0 for p in self.parts)

    @property
    def x1(self) -> float:
        return max(p.x1 for p in self.parts)

    @property
    def y0(self) -> float:
        return min(p.y0 for p in self.parts)

    @property
    def y1(self) -> float:
        return max(p.y1 for p in self.parts)

    @property
    def height(self) -> float:
        return sum(p.height for p in self.parts) / len(self.parts)


class RapidOCRPlateReader(PlateReader):
    name = "rapidocr"

    def __init__(self, config: RapidOCRReaderConfig | None = None) -> None:
        from rapidocr import RapidOCR

        self.config = config or RapidOCRReaderConfig()
        package = _package_dir()
        det = package / "models" / "PP-OCRv6_det_small.onnx"
        rec = package / "models" / "PP-OCRv6_rec_small.onnx"
        for path in (det, rec):
            if not path.is_file():
                raise FileNotFoundError(f"RapidOCR model missing: {path} (reinstall the rapidocr wheel; nothing is downloaded)")
        threads = self.config.threads or -1
        self._engine = RapidOCR(
            params={
                "Global.log_level": "error",  # "no text found" is a normal outcome here, not a warning
                "Global.use_cls": False,  # plates are upright: the 180° classifier only costs time
                "Global.text_score": self.config.text_score,
                "Det.model_path": str(det),
                "Det.limit_type": "max",
                "Det.limit_side_len": self.config.det_max_side,
                "Rec.model_path": str(rec),
                "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            }
        )
        self._model = f"rapidocr {_version()} {det.stem} + {rec.stem} (onnxruntime {_ort_version()})"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Self:
        return cls(RapidOCRReaderConfig.model_validate(dict(config)))

    @property
    def model(self) -> str:
        return self._model

    def read(self, image: np.ndarray) -> list[PlateRead]:
        bgr = _as_bgr(image)
        h, w = bgr.shape[:2]
        scale = max(1.0, self.config.min_side / max(1, min(h, w)))
        work = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC) if scale > 1 else bgr
        result: Any = self._engine(work)
        if result.boxes is None or result.txts is None or len(result.txts) == 0:
            return []
        lines = [
            _Line.of(np.asarray(quad, np.float32) / scale, str(text), float(score))
            for quad, text, score in zip(result.boxes, result.txts, result.scores, strict=True)
            if _ALNUM.search(str(text))
        ]
        reads = [self._read(group, bgr) for group in _plates(_rows(lines))]
        kept = [r for r in reads if r is not None and r.confidence >= self.config.min_confidence]
        return sorted(kept, key=lambda r: -r.confidence)

    def _read(self, group: tuple[tuple[_Row, ...], PlateText | None], image: np.ndarray) -> PlateRead | None:
        rows, plate = group
        if plate is None and not self.config.include_invalid:
            return None
        parts = [p for row in rows for p in row.parts]
        weights = [max(1, len(p.text)) for p in parts]
        ocr_score = sum(p.score * n for p, n in zip(parts, weights, strict=True)) / sum(weights)
        box = _box(rows, image.shape[1], image.shape[0])
        crop = image[box[1] : box[3], box[0] : box[2]].copy()
        texts = tuple(row.text for row in rows)
        if plate is None:
            text = " / ".join(" ".join(t.upper().split()) for t in texts)
            return PlateRead(
                text=text,
                key=search_key(text),
                confidence=ocr_score * self.config.invalid_factor,
                box=box,
                crop=crop,
                lines=texts,
                ocr_score=ocr_score,
                valid=False,
            )
        return PlateRead(
            text=plate.text,
            key=plate.key,
            confidence=ocr_score * plate.fit,
            box=box,
            crop=crop,
            lines=texts,
            ocr_score=ocr_score,
            valid=True,
            plate=plate,
        )


def _rows(lines: list[_Line]) -> list[_Row]:
    """Join lines that stand side by side (a one-line plate the detector cut at its dash) into rows."""
    rows: list[list[_Line]] = []
    for line in sorted(lines, key=lambda line: line.x0):
        for row in rows:
            last = row[-1]
            overlap = min(last.y1, line.y1) - max(last.y0, line.y0)
            gap = line.x0 - last.x1
            if (
                overlap >= 0.5 * min(last.y1 - last.y0, line.y1 - line.y0)
                and gap <= 1.2 * max(last.height, line.height)
                and 0.6 <= line.height / max(last.height, 1e-6) <= 1.6
            ):
                row.append(line)
                break
        else:
            rows.append([line])
    return sorted((_Row(tuple(r)) for r in rows), key=lambda r: (r.y0, r.x0))


def _stacked(top: _Row, bottom: _Row) -> bool:
    """Could these rows be the two lines of one plate?"""
    height = max(top.height, bottom.height)
    if not 0.6 <= bottom.height / max(top.height, 1e-6) <= 1.7:
        return False
    gap = bottom.y0 - top.y1
    if gap < -0.5 * height or gap > 1.0 * height:
        return False
    overlap = min(top.x1, bottom.x1) - max(top.x0, bottom.x0)
    return overlap >= 0.5 * min(top.x1 - top.x0, bottom.x1 - bottom.x0)


def _plates(rows: list[_Row]) -> list[tuple[tuple[_Row, ...], PlateText | None]]:
    """Rows grouped into plates: a pair of rows when together they parse better than either alone."""
    alone = [parse([row.text]) for row in rows]
    used: set[int] = set()
    groups: list[tuple[tuple[_Row, ...], PlateText | None]] = []
    pairs = [
        (rows[j].y0 - rows[i].y1, i, j)
        for i in range(len(rows))
        for j in range(len(rows))
        if i != j and rows[j].y0 > rows[i].y0 and _stacked(rows[i], rows[j])
    ]
    for _, i, j in sorted(pairs):
        if i in used or j in used:
            continue
        plate = parse([rows[i].text, rows[j].text])
        if plate is None:
            continue
        if any(single is not None and single.cost <= plate.cost for single in (alone[i], alone[j])):
            continue
        groups.append(((rows[i], rows[j]), plate))
        used.update((i, j))
    groups += [((row,), alone[i]) for i, row in enumerate(rows) if i not in used]
    return groups


def _box(rows: tuple[_Row, ...], width: int, height: int) -> Box:
    """The rows' extent, clipped to the image (the detector's boxes already reach about a glyph's height around the text)."""
    x0 = int(max(0, min(r.x0 for r in rows)))
    y0 = int(max(0, min(r.y0 for r in rows)))
    x1 = int(min(width, max(r.x1 for r in rows) + 1))
    y1 = int(min(height, max(r.y1 for r in rows) + 1))
    return x0, y0, x1, y1


def _as_bgr(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.size == 0:
        raise ValueError("expected a non-empty image array")
    if image.dtype != np.uint8:
        raise ValueError(f"expected an 8-bit image, got {image.dtype}")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    raise ValueError(f"expected an H×W grey or H×W×3 BGR image, got shape {image.shape}")


def _package_dir() -> Path:
    import rapidocr

    return Path(rapidocr.__file__).resolve().parent


def _version() -> str:
    from importlib.metadata import version

    return version("rapidocr")


def _ort_version() -> str:
    import onnxruntime

    return str(onnxruntime.__version__)
