"""The stage interfaces of the vision pipeline and the small immutable values passed between them.

A frame goes source → motion gate → detector (only when something moves) → tracker → rules
(DESIGN.md §4). Each stage is an abstract base class here with one implementation per file in its
sub-package; :mod:`.registry` maps the names a :class:`.config.PipelineConfig` uses to those classes.

Coordinates are pixels of the source image (x right, y down), boxes are ``x1, y1, x2, y2``, times
are seconds: media time for a file, seconds since the stream was opened for a live source.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

import numpy as np

#: Classes every detector maps its own labels to (DESIGN.md §4). ``other`` is what a detector that
#: cannot tell kinds apart (the motion-blob fallback) reports.
CANONICAL_CLASSES: tuple[str, ...] = ("person", "bicycle", "motorbike", "car", "bus", "truck", "other_vehicle", "other")
VEHICLE_CLASSES: tuple[str, ...] = ("bicycle", "motorbike", "car", "bus", "truck", "other_vehicle")

#: Where a track "is" for zone and line rules: the middle of the bottom edge (where feet and wheels
#: touch the ground, the usual choice for zones drawn on the ground) or the box centre.
Anchor = Literal["bottom_center", "center"]


class SourceError(Exception):
    """A frame source cannot be opened or read; the message says what is wrong and what to do.

    ``code`` names the case (``empty``, ``not_video``, ``truncated``, ``url_scheme``...) so that the
    Django side can show its own translated message; server paths never appear, only file names.
    """

    def __init__(self, message: str, code: str = "error") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Box:
    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def width(self) -> float:
        return max(0.0, self.x2 - self.x1)

    @property
    def height(self) -> float:
        return max(0.0, self.y2 - self.y1)

    @property
    def area(self) -> float:
        return self.width * self.height

    @property
    def center(self) -> tuple[float, float]:
        return ((self.x1 + self.x2) / 2, (self.y1 + self.y2) / 2)

    @property
    def bottom_center(self) -> tuple[float, float]:
        return ((self.x1 + self.x2) / 2, self.y2)

    def anchor(self, kind: Anchor) -> tuple[float, float]:
        return self.bottom_center if kind == "bottom_center" else self.center

    def intersection(self, other: Box) -> float:
        w = min(self.x2, other.x2) - max(self.x1, other.x1)
        h = min(self.y2, other.y2) - max(self.y1, other.y1)
        return w * h if w > 0 and h > 0 else 0.0

    def iou(self, other: Box) -> float:
        inter = self.intersection(other)
        if inter <= 0:
            return 0.0
        return inter / (self.area + other.area - inter)

    def union(self, other: Box) -> Box:
        return Box(min(self.x1, other.x1), min(self.y1, other.y1), max(self.x2, other.x2), max(self.y2, other.y2))

    def scaled(self, sx: float, sy: float) -> Box:
        return Box(self.x1 * sx, self.y1 * sy, self.x2 * sx, self.y2 * sy)

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.x1, self.y1, self.x2, self.y2)


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    """One sampled frame: its index among the frames the source decoded, its time and BGR pixels."""

    index: int
    timestamp: float
    image: np.ndarray

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])


@dataclass(frozen=True, slots=True)
class Detection:
    """An object found by a detector: its box, canonical class, confidence and the model that saw it."""

    box: Box
    cls: str
    confidence: float
    model: str
    label: str = ""  # the model's own label when it says more than the class ("Fall" for a fallen person)


@dataclass(frozen=True, slots=True)
class MotionResult:
    """What the motion gate saw: whether anything moves, where (full-size boxes), and how much of the frame."""

    moving: bool
    regions: tuple[Box, ...] = ()
    fraction: float = 0.0


@dataclass(frozen=True, slots=True)
class Track:
    """A tracked object as of its tracker's latest update.

    ``boxes`` and ``times`` are its recent history (oldest first, bounded by the tracker's config);
    ``velocity`` is pixels a second over that history; ``direction`` is ``left``, ``right``, ``up``,
    ``down`` or ``still``; ``held`` says the tracker kept it where it was because nothing was searched
    there this frame (a stationary object in a still scene) rather than because a detection matched.
    """

    id: int
    cls: str
    boxes: tuple[Box, ...]
    times: tuple[float, ...]
    first_seen: float
    last_seen: float
    hits: int
    confidence: float = 0.0
    velocity: tuple[float, float] = (0.0, 0.0)
    direction: str = "still"
    held: bool = False
    label: str = ""  # the model's own label at the latest sighting (Detection.label), e.g. "Fall"

    @property
    def box(self) -> Box:
        return self.boxes[-1]

    @property
    def dwell(self) -> float:
        """Seconds between the first and the latest sighting."""
        return self.last_seen - self.first_seen

    @property
    def path(self) -> tuple[tuple[float, float], ...]:
        """Centroids of the recent boxes, oldest first."""
        return tuple(b.center for b in self.boxes)

    def anchor(self, kind: Anchor = "bottom_center") -> tuple[float, float]:
        return self.box.anchor(kind)

    @property
    def speed(self) -> float:
        return math.hypot(*self.velocity)


@dataclass(frozen=True, slots=True)
class RuleHit:
    """A rule fired. ``type`` is one of ``analytics.models.AlertType``'s values (``zone_intrusion``...)."""

    rule: str
    type: str
    timestamp: float
    frame_index: int
    track_ids: tuple[int, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, eq=False)
class Sighting:
    """A closer look at one tracked object: a plate read on a vehicle, or a face on a person.

    ``box`` is in frame pixels, ``crop`` the BGR pixels the result came from (kept as evidence).
    Plates fill ``text`` (display form, ``51F-123.45``), ``raw`` (what the OCR read) and ``key`` (the
    normalised search key); faces fill ``embedding`` (128 numbers). An observer may report a better
    sighting of the same track later: consumers keep the best per ``(kind, track_id)``.
    """

    kind: Literal["plate", "face"]
    track_id: int
    timestamp: float
    frame_index: int
    box: Box
    confidence: float
    crop: np.ndarray
    model: str
    text: str = ""
    raw: str = ""
    key: str = ""
    embedding: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """A source's state for the operator: is it delivering frames, when was the last, how fast."""

    connected: bool
    last_frame_at: float | None = None  # wall-clock time (time.time()) of the last frame delivered
    fps: float = 0.0  # frames delivered (after sampling) a second, measured
    input_fps: float = 0.0  # frames decoded a second, measured
    frames_read: int = 0  # decoded, before sampling
    frames_delivered: int = 0
    reconnects: int = 0
    error: str | None = None
    lag_s: float = 0.0  # how far behind the camera the latest frame is, seconds (a live source)
    dropped: int = 0  # frames skipped because they were already older than the source's lag limit


class FrameSource(ABC):
    """Frames of a file or a camera, sampled down to ``fps`` (the camera's analysis rate)."""

    fps: float

    @abstractmethod
    def frames(self) -> Iterator[Frame]:
        """Yield sampled frames until the source ends (a file) or is closed (a stream)."""

    @abstractmethod
    def health(self) -> SourceHealth: ...

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release what the source holds; frames() stops soon after."""

    def __iter__(self) -> Iterator[Frame]:
        return self.frames()

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


class MotionGate(ABC):
    """Decides whether a frame is worth a detector run, and where to look."""

    @abstractmethod
    def update(self, frame: Frame) -> MotionResult: ...


class Detector(ABC):
    """Finds objects. ``name`` is the model actually used, reported as is (never hide a fallback)."""

    @property
    @abstractmethod
    def name(self) -> str: ...

    @abstractmethod
    def detect(self, image: np.ndarray, regions: Sequence[Box] | None = None) -> list[Detection]:
        """Objects in ``image``; ``regions`` (full-size boxes where something moved) narrow the search,
        ``None`` means the whole frame."""


class Tracker(ABC):
    """Links detections across frames into tracks with stable ids."""

    @abstractmethod
    def update(self, detections: Sequence[Detection], timestamp: float, searched: Sequence[Box] | None = None) -> list[Track]:
        """Tracks visible after this frame.

        ``searched`` are the areas the detector looked at (``None``: the whole frame). A track outside
        them cannot have been missed, only not looked for: a stationary one is held in place.
        """


class Rule(ABC):
    """Turns tracks (and the frame, for image rules such as tampering) into hits."""

    name: str
    type: str

    @abstractmethod
    def update(self, tracks: Sequence[Track], frame: Frame) -> list[RuleHit]: ...


class TrackObserver(ABC):
    """Looks closer at tracked objects of some classes (plates on vehicles, faces on people).

    Called after the tracker on every analysed frame with the frame the detector saw; it decides which
    tracks are worth a look (new ones, ones without a good result yet, at most every so often) so that
    its cost stays bounded, and returns the new or improved sightings.
    """

    name: str

    @abstractmethod
    def update(self, tracks: Sequence[Track], frame: Frame) -> list[Sighting]: ...
