"""The validated configuration of one camera's pipeline (STYLE.md §6).

Every model forbids unknown fields and is frozen; validators only check and raise, they never
rewrite a value. Errors come out as pydantic's ``ValidationError``, whose entries name the field
(``rules.1.zones``, ``motion.history``...) and say what is expected. Stage names (``motion.name``,
``detector.name``, ``tracker.name``) are checked against :mod:`.registry`.

Geometry is in pixels of the camera's image (x right, y down), as drawn on a snapshot of it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from analytics.pipeline import registry

CanonicalClass = Literal["person", "bicycle", "motorbike", "car", "bus", "truck", "other_vehicle", "other"]
Coordinate = Annotated[float, Field(ge=0, le=100_000)]
Point = tuple[Coordinate, Coordinate]
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[\w][\w .:/-]*$")]
Polygon = Annotated[tuple[Point, ...], Field(min_length=3, max_length=256)]
AnchorChoice = Literal["bottom_center", "center"]

_VEHICLES_AND_STALLS: tuple[CanonicalClass, ...] = ("bicycle", "motorbike", "car", "bus", "truck", "other_vehicle", "other")


def _registered(table: str) -> Any:
    def check(name: str) -> str:
        choices = getattr(registry, table)
        if name not in choices:
            raise ValueError(f"unknown name {name!r}: choose one of {', '.join(sorted(choices))}")
        return name

    return AfterValidator(check)


def _polygon_has_area(polygon: tuple[Point, ...]) -> tuple[Point, ...]:
    area2 = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(polygon, polygon[1:] + polygon[:1], strict=True))
    if abs(area2) < 2:  # twice the area, in square pixels
        raise ValueError("the polygon has no area: give at least three points that are not on one line")
    return polygon


AreaPolygon = Annotated[Polygon, AfterValidator(_polygon_has_area)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MaskConfig(Strict):
    """An area never analysed: ``privacy`` is also blacked out before any detector sees the frame
    (a neighbour's window); ``ignore`` only keeps its motion from waking the detector (a flag, a tree)."""

    name: Name
    kind: Literal["privacy", "ignore"] = "ignore"
    polygon: AreaPolygon


class ZoneConfig(Strict):
    name: Name
    kind: Literal["intrusion", "sidewalk", "roadway"]
    polygon: AreaPolygon


class LineConfig(Strict):
    """A counting line from ``points[0]`` (A) to ``points[1]`` (B).

    ``forward`` labels a crossing from the left-hand side of A→B to its right-hand side as seen on
    screen (for a line drawn left to right: moving down the picture), ``backward`` the other way.
    """

    name: Name
    points: tuple[Point, Point]
    forward: Name = "in"
    backward: Name = "out"

    @model_validator(mode="after")
    def _check(self) -> LineConfig:
        (ax, ay), (bx, by) = self.points
        if ((ax - bx) ** 2 + (ay - by) ** 2) ** 0.5 < 2:
            raise ValueError("the line's two points are the same: give two points at least 2 px apart")
        if self.forward == self.backward:
            raise ValueError("forward and backward must be different labels, e.g. 'in' and 'out'")
        return self


class MotionConfig(Strict):
    """MOG2 background subtraction on a small grey copy of the frame.

    The defaults meet DESIGN.md §10 on ``vtest.avi`` and the quiet clip, at 5 and 10 analysed frames a
    second (``bench/motion.py``): 72 px high (at ~100 px MOG2 alone costs the whole 0.3 ms budget), a
    3×3 blur against codec key-frame jumps, a 5σ threshold (25) and a short history, and a minimum
    area that drops single flickering pixels. See :mod:`.motion.mog2`.
    """

    name: Annotated[str, _registered("MOTION_GATES")] = "mog2"
    frame_height: int = Field(default=72, ge=32, le=480, description="about the height of the analysed copy, px")
    smooth: int = Field(default=3, ge=0, le=9, description="box blur of the small copy, px (0 or 1: none)")
    history: int = Field(default=50, ge=2, le=5000, description="frames the background model remembers")
    var_threshold: float = Field(
        default=25.0, gt=0, le=1000, description="squared distance (in variances) that counts as foreground"
    )
    var_min: float = Field(
        default=4.0, gt=0, le=10_000, description="least variance a background pixel keeps (grey levels squared)"
    )
    learning_rate: float | None = Field(
        default=None, ge=0, le=1, description="fixed learning rate; none: automatic (1/frames seen, then 1/history)"
    )
    min_area: float = Field(
        default=0.0004, ge=0, lt=1, description="smallest moving region (its box), as a fraction of the frame"
    )
    dilate: int = Field(default=1, ge=0, le=5, description="dilation passes that join the fragments of one moving object")


class DetectorConfig(Strict):
    name: Annotated[str, _registered("DETECTORS")] = "motion-blobs"
    min_confidence: float = Field(default=0.25, ge=0, le=1)
    min_size: int = Field(default=6, ge=1, le=4096, description="smallest side of a detection box, px")


class TrackerConfig(Strict):
    name: Annotated[str, _registered("TRACKERS")] = "iou"
    iou_threshold: float = Field(default=0.15, ge=0, lt=1, description="least overlap that links a detection to a track")
    max_distance: float = Field(
        default=1.0, gt=0, le=10, description="centre distance that still links a non-overlapping detection, in box diagonals"
    )
    max_age_s: float = Field(default=1.0, gt=0, le=600, description="seconds a track survives unmatched where it was looked for")
    min_hits: int = Field(default=2, ge=1, le=100, description="matches before a track is reported")
    history: int = Field(default=32, ge=2, le=1000, description="boxes kept per track")
    still_speed: float = Field(
        default=0.1, ge=0, le=100, description="below this speed (box heights a second) a track is still: held, direction 'still'"
    )
    hold_stationary: bool = Field(default=True, description="keep still tracks where nothing was searched (a still scene)")


class _RuleBase(Strict):
    type: str  # each rule narrows it to its Literal; declared first so that ``name`` can default to it
    name: Name = Field(default_factory=lambda data: str(data.get("type", "rule")))
    classes: tuple[CanonicalClass, ...] | None = Field(default=None, description="classes the rule applies to; none: all")
    anchor: AnchorChoice = "bottom_center"


class ZoneIntrusionConfig(_RuleBase):
    type: Literal["zone_intrusion"]
    zones: tuple[Name, ...] = Field(min_length=1)


class LineCrossingConfig(_RuleBase):
    type: Literal["line_crossing"]
    lines: tuple[Name, ...] = Field(min_length=1)
    hysteresis_px: float = Field(default=8.0, ge=0, le=200, description="distance from the line before a side counts")


class LoiteringConfig(_RuleBase):
    type: Literal["loitering"]
    zones: tuple[Name, ...] = Field(min_length=1)
    seconds: float = Field(default=60.0, gt=0, le=86_400)
    classes: tuple[CanonicalClass, ...] | None = ("person",)


class CrowdingConfig(_RuleBase):
    type: Literal["crowding"]
    zones: tuple[Name, ...] = Field(min_length=1)
    max_people: int = Field(default=10, ge=1, le=100_000, description="more than this many in the zone is a crowd")
    seconds: float = Field(default=0.0, ge=0, le=86_400, description="how long the crowd must last")
    classes: tuple[CanonicalClass, ...] | None = ("person",)


class EncroachmentConfig(_RuleBase):
    type: Literal["encroachment"]
    zones: tuple[Name, ...] = Field(min_length=1)
    seconds: float = Field(default=120.0, gt=0, le=86_400)
    radius_px: float = Field(default=15.0, gt=0, le=10_000, description="moving less than this counts as stationary")
    classes: tuple[CanonicalClass, ...] | None = _VEHICLES_AND_STALLS


class TamperedConfig(_RuleBase):
    """A black, frozen or covered picture lasting ``seconds``; measured on a small grey copy."""

    type: Literal["tampered"]
    seconds: float = Field(default=5.0, gt=0, le=3600)
    dark_level: float = Field(default=18.0, ge=0, le=255, description="mean brightness (0-255) below which the image is dark")
    frozen_diff: float = Field(default=0.05, ge=0, le=255, description="mean change between frames below which it is frozen")
    covered_sharpness: float = Field(
        default=8.0, ge=0, description="Laplacian variance below which the image is featureless (lens covered, sprayed)"
    )


RuleConfig = Annotated[
    ZoneIntrusionConfig | LineCrossingConfig | LoiteringConfig | CrowdingConfig | EncroachmentConfig | TamperedConfig,
    Field(discriminator="type"),
]


def _duplicates(names: Iterable[str]) -> list[str]:
    return sorted(name for name, n in Counter(names).items() if n > 1)


class PipelineConfig(Strict):
    analysis_fps: float = Field(default=5.0, gt=0, le=60, description="frames analysed a second")
    motion: MotionConfig = MotionConfig()
    detector: DetectorConfig = DetectorConfig()
    tracker: TrackerConfig = TrackerConfig()
    masks: tuple[MaskConfig, ...] = ()
    zones: tuple[ZoneConfig, ...] = ()
    lines: tuple[LineConfig, ...] = ()
    rules: tuple[RuleConfig, ...] = ()

    @model_validator(mode="after")
    def _check_references(self) -> PipelineConfig:
        problems: list[str] = []
        for field, names in (
            ("masks", [m.name for m in self.masks]),
            ("zones", [z.name for z in self.zones]),
            ("lines", [line.name for line in self.lines]),
            ("rules", [r.name for r in self.rules]),
        ):
            for name in _duplicates(names):
                problems.append(f"{field}: the name {name!r} is used twice; give each a different name")
        zones = {z.name: z for z in self.zones}
        lines = {line.name for line in self.lines}
        for i, rule in enumerate(self.rules):
            where = f"rules.{i} ({rule.name})"
            for zone in getattr(rule, "zones", ()):
                if zone not in zones:
                    problems.append(f"{where}.zones: no zone named {zone!r}; define it under zones or use one of {sorted(zones)}")
                elif isinstance(rule, EncroachmentConfig) and zones[zone].kind not in ("sidewalk", "roadway"):
                    problems.append(
                        f"{where}.zones: zone {zone!r} is of kind {zones[zone].kind!r}; encroachment needs a sidewalk or roadway zone"
                    )
            for line in getattr(rule, "lines", ()):
                if line not in lines:
                    problems.append(f"{where}.lines: no line named {line!r}; define it under lines or use one of {sorted(lines)}")
        if problems:
            raise ValueError("; ".join(problems))
        return self
