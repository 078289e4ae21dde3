"""Faces: detection and 128-d embeddings for the vision pipeline (plain Python, no Django).

``base`` holds the ``FaceDetector`` and ``FaceEmbedder`` interfaces and :func:`distance`; each
implementation lives in its own module and is listed in ``DETECTORS`` / ``EMBEDDERS`` as
``"module:Class"`` (the convention of ``analytics.pipeline.registry``), imported only when asked for:
torch and dlib are heavy, and a ward without faces never loads them.
"""

from __future__ import annotations

from importlib import import_module

from analytics.faces.base import (
    SAME_PERSON_DISTANCE,
    Face,
    FaceDetector,
    FaceEmbedder,
    MissingFaceModelError,
    distance,
)

__all__ = [
    "DETECTORS",
    "EMBEDDERS",
    "SAME_PERSON_DISTANCE",
    "Face",
    "FaceDetector",
    "FaceEmbedder",
    "MissingFaceModelError",
    "distance",
    "make_detector",
    "make_embedder",
]

DETECTORS: dict[str, str] = {"mtcnn": "analytics.faces.mtcnn_detector:MtcnnFaceDetector"}
EMBEDDERS: dict[str, str] = {"dlib": "analytics.faces.dlib_embedder:DlibFaceEmbedder"}


def _load(table: dict[str, str], name: str, what: str) -> type:
    if name not in table:
        raise ValueError(f"unknown face {what} {name!r}; known: {', '.join(sorted(table))}")
    module, _, cls_name = table[name].partition(":")
    cls = getattr(import_module(module), cls_name)
    if not isinstance(cls, type):
        raise TypeError(f"{table[name]} is not a class")
    return cls


def make_detector(name: str = "mtcnn", *, min_face_px: int = 20, threads: int | None = None) -> FaceDetector:
    detector = _load(DETECTORS, name, "detector")(min_face_px=min_face_px, threads=threads)
    assert isinstance(detector, FaceDetector)
    return detector


def make_embedder(name: str = "dlib") -> FaceEmbedder:
    embedder = _load(EMBEDDERS, name, "embedder")()
    assert isinstance(embedder, FaceEmbedder)
    return embedder
