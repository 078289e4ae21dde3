"""The plate-reader stage of the vision pipeline (STYLE.md §6): one interface, one implementation per file."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np

from analytics.plates.grammar import PlateText

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in image pixels, x1 and y1 exclusive


@dataclass(frozen=True)
class PlateRead:
    """One plate found in an image.

    ``text`` is the grammar's canonical text (``59-S1 234.56``) and ``key`` its search key; for a
    read that fits no plate grammar (returned only when a reader is asked for them) ``text`` is the
    OCR text, upper-cased, and ``valid`` is false. ``confidence`` (0-1) combines the OCR score with
    how well the text fitted the grammar.
    """

    text: str
    key: str
    confidence: float
    box: Box
    crop: np.ndarray = field(repr=False, compare=False)  # the plate's pixels (BGR), a copy
    lines: tuple[str, ...] = ()  # the OCR's lines, top to bottom, as read
    ocr_score: float = 0.0
    valid: bool = True
    plate: PlateText | None = field(default=None, compare=False)

    def as_dict(self) -> dict[str, object]:
        """What a JSON line or an API payload carries (no pixels)."""
        return {"text": self.text, "key": self.key, "confidence": round(self.confidence, 4), "box": list(self.box)}


class PlateReader(ABC):
    """Finds and reads the licence plates in an image (a plate crop, a vehicle crop or a frame)."""

    #: Registry name of the implementation.
    name: str = ""

    @classmethod
    @abstractmethod
    def from_config(cls, config: Mapping[str, Any]) -> Self:
        """A reader from its settings, validated (a pydantic model with ``extra="forbid"``)."""

    @property
    @abstractmethod
    def model(self) -> str:
        """The model that reads, in words, to be reported with every result (never hide which model ran)."""

    @abstractmethod
    def read(self, image: np.ndarray) -> list[PlateRead]:
        """The plates in ``image`` (H×W×3 BGR uint8, or H×W grey), most confident first."""
