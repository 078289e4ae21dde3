"""The face stages of the vision pipeline (STYLE.md §6): a detector and an embedder, one implementation per file.

A :class:`FaceDetector` finds faces in an image (a person crop or a frame); a :class:`FaceEmbedder`
turns one found face into a fixed-length vector such that two pictures of one person lie close
together (:func:`distance`, with :data:`SAME_PERSON_DISTANCE` as the usual threshold). Faces are
only looked at for wards that enabled them (DESIGN.md §7); nothing here knows about wards.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

#: dlib's ResNet embedder was trained so that two faces of one person are closer than 0.6 (Euclidean).
SAME_PERSON_DISTANCE = 0.6

FaceBox = tuple[float, float, float, float]  # x1, y1, x2, y2 in image pixels


class MissingFaceModelError(RuntimeError):
    """A package or model file the face stage needs is not installed; the message says what to install."""


@dataclass(frozen=True, slots=True)
class Face:
    """A face found in an image: its box, the detector's probability (0-1) and five landmarks if known."""

    box: FaceBox
    probability: float
    landmarks: tuple[tuple[float, float], ...] = field(default=(), compare=False)

    @property
    def width(self) -> float:
        return max(0.0, self.box[2] - self.box[0])

    @property
    def height(self) -> float:
        return max(0.0, self.box[3] - self.box[1])

    @property
    def size(self) -> float:
        """The shorter side, px: what decides whether the face is large enough to recognise."""
        return min(self.width, self.height)


class FaceDetector(ABC):
    """Finds faces. ``model`` says which model runs, to be reported with every result."""

    name: str = ""

    @property
    @abstractmethod
    def model(self) -> str: ...

    @abstractmethod
    def detect(self, image: np.ndarray) -> list[Face]:
        """The faces in ``image`` (H×W×3 BGR uint8), most probable first."""


class FaceEmbedder(ABC):
    """Describes a face as a vector of ``dimensions`` numbers; same person → small :func:`distance`."""

    name: str = ""
    dimensions: int = 128

    @property
    @abstractmethod
    def model(self) -> str: ...

    @abstractmethod
    def embed(self, image: np.ndarray, face: Face) -> np.ndarray:
        """The embedding (float64, ``dimensions`` long) of ``face``, found in ``image`` (H×W×3 BGR uint8)."""


def distance(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """Euclidean distance between two embeddings; below :data:`SAME_PERSON_DISTANCE`: probably one person."""
    va, vb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if va.shape != vb.shape or va.ndim != 1:
        raise ValueError(f"embeddings must be two vectors of one length, got shapes {va.shape} and {vb.shape}")
    return float(math.sqrt(float(np.sum((va - vb) ** 2))))


def as_bgr(image: np.ndarray) -> np.ndarray:
    """``image`` checked to be an 8-bit H×W×3 array, with a clear error otherwise."""
    if not isinstance(image, np.ndarray) or image.size == 0:
        raise ValueError("expected a non-empty image array")
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an H×W×3 BGR uint8 image, got shape {image.shape} of {image.dtype}")
    return image
