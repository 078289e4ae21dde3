"""Licence plates: the Vietnamese plate grammar and the plate-reader stage of the vision pipeline (plain Python).

``grammar`` parses OCR text into canonical plates and search keys; ``base`` holds the ``PlateReader``
interface; each implementation lives in its own module and is listed in ``READERS`` under its name
as ``"module:Class"`` (the convention of ``analytics.pipeline.registry``), imported only when asked
for (the OCR runtime is heavy).
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from typing import Any

from analytics.plates.base import PlateRead, PlateReader
from analytics.plates.grammar import PlateText, normalise, parse, search_key

__all__ = ["READERS", "PlateRead", "PlateReader", "PlateText", "make_reader", "normalise", "parse", "search_key"]

READERS: dict[str, str] = {
    "rapidocr": "analytics.plates.rapidocr_reader:RapidOCRPlateReader",
}


def make_reader(name: str = "rapidocr", config: Mapping[str, Any] | None = None) -> PlateReader:
    """The reader registered as ``name``, built from its validated config (unknown keys are an error)."""
    if name not in READERS:
        raise ValueError(f"unknown plate reader {name!r}; known: {', '.join(sorted(READERS))}")
    module, _, cls_name = READERS[name].partition(":")
    cls = getattr(import_module(module), cls_name)
    if not (isinstance(cls, type) and issubclass(cls, PlateReader)):
        raise TypeError(f"{READERS[name]} is not a PlateReader")
    return cls.from_config(config or {})
