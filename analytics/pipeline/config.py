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


#: What a YOLO model's label may map to: a canonical class, or ``ignore`` (the detection is dropped).
MappedClass = Literal["person", "bicycle", "motorbike", "car", "bus", "truck", "other_vehicle", "other", "ignore"]


class ModelConfig(Strict):
    """One YOLO model (:mod:`.detectors.yolo`): its weights (``.pt``, exported once to ONNX, or ``.onnx``),
    the map from its labels to canonical classes (labels not in the map are ignored), and which of its
    labels mean a fallen person (they feed the ``person_fallen`` rule through ``Detection.label``)."""

    name: Name
    weights: str = Field(min_length=1, max_length=4096, description="path of the .pt or .onnx weights file")
    classes: dict[Annotated[str, Field(min_length=1, max_length=64)], MappedClass] = Field(min_length=1)
    fallen: tuple[str, ...] = Field(default=(), description="labels that mean a fallen person, e.g. ('Fall',)")
    min_confidence: float | None = Field(default=None, ge=0, le=1, description="overrides the detector's")
    imgsz: int = Field(default=640, ge=64, le=4096, multiple_of=32, description="inference size of the longer side, px")

    @model_validator(mode="after")
    def _check(self) -> ModelConfig:
        if all(target == "ignore" for target in self.classes.values()):
            raise ValueError("classes: every label is ignored; map at least one label to a class such as 'person'")
        unmapped = [label for label in self.fallen if self.classes.get(label) in (None, "ignore")]
        if unmapped:
            raise ValueError(f"fallen: the labels {unmapped} are not mapped to a class in classes; map them to 'person'")
        return self


class DetectorConfig(Strict):
    name: Annotated[str, _registered("DETECTORS")] = "motion-blobs"
    min_confidence: float = Field(default=0.25, ge=0, le=1)
    min_size: int = Field(default=6, ge=1, le=4096, description="smallest side of a detection box, px")
    models: tuple[ModelConfig, ...] = Field(default=(), description="the YOLO models run on each frame (yolo only)")
    threads: int = Field(default=1, ge=1, le=64, description="CPU threads the model may use (one camera, one core)")
    cache_dir: str | None = Field(
        default=None, max_length=4096, description="where exported ONNX models are kept; none: $MATTHAN_VAR_DIR/models"
    )

    @model_validator(mode="after")
    def _check(self) -> DetectorConfig:
        if self.name == "yolo" and not self.models:
            raise ValueError("models: the yolo detector needs at least one model (weights path and class map)")
        for name in _duplicates(m.name for m in self.models):
            raise ValueError(f"models: the name {name!r} is used twice; give each model a different name")
        return self


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
    # ByteTrack (``bytetrack``) only; thresholds are detection confidences, as in ultralytics' bytetrack.yaml.
    high_threshold: float = Field(default=0.25, ge=0, le=1, description="detections this sure are matched first")
    low_threshold: float = Field(default=0.1, ge=0, le=1, description="less sure ones (above this) only extend tracks")
    new_track_threshold: float = Field(default=0.25, ge=0, le=1, description="least confidence that starts a track")
    match_threshold: float = Field(default=0.8, gt=0, le=1, description="largest 1 - IoU cost of a match")
    buffer_s: float = Field(default=2.0, gt=0, le=600, description="seconds a lost track can still be found again")


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


class PersonFallenConfig(_RuleBase):
    """A person track labelled fallen (a model's fallen label, ``Detection.label``) for ``min_seconds``."""

    type: Literal["person_fallen"]
    min_seconds: float = Field(default=2.0, ge=0, le=3600)
    zones: tuple[Name, ...] = Field(default=(), description="only inside these zones; none: anywhere")
    labels: tuple[Annotated[str, Field(min_length=1, max_length=64)], ...] = Field(
        default=("Fall",), min_length=1, description="detector labels that mean fallen (the models' fallen labels)"
    )
    classes: tuple[CanonicalClass, ...] | None = ("person",)


RuleConfig = Annotated[
    ZoneIntrusionConfig
    | LineCrossingConfig
    | LoiteringConfig
    | CrowdingConfig
    | EncroachmentConfig
    | TamperedConfig
    | PersonFallenConfig,
    Field(discriminator="type"),
]


class PlatesConfig(Strict):
    """Plate reading on vehicle tracks (:mod:`.observers.plates`), bounded so that it never dominates a frame.

    A track is looked at no more often than every ``every_s`` seconds and no more once a read reached
    ``good_confidence``; boxes lower than ``min_height`` cannot hold a legible plate and are skipped;
    at most ``max_per_frame`` crops are read a frame (the tracks waiting longest first).
    """

    reader: Annotated[str, _registered("PLATE_READERS")] = "rapidocr"
    classes: tuple[CanonicalClass, ...] = Field(
        default=("motorbike", "car", "bus", "truck", "other_vehicle"), min_length=1, description="track classes read"
    )
    every_s: float = Field(default=0.5, ge=0, le=3600, description="least seconds between two looks at one track")
    good_confidence: float = Field(default=0.9, gt=0, le=1, description="a read this confident ends the looks at a track")
    min_confidence: float = Field(default=0.3, ge=0, le=1, description="reads less confident than this are dropped")
    min_height: int = Field(default=48, ge=8, le=4096, description="smallest vehicle box height looked at, px")
    max_per_frame: int = Field(default=2, ge=1, le=64, description="most vehicle crops read a frame")
    padding: float = Field(default=0.08, ge=0, le=1, description="margin added around the vehicle box, as a fraction of its size")
    skip_top: float = Field(
        default=0.25, ge=0, lt=1, description="fraction of the box's top left out (plates sit low; less to search)"
    )
    det_max_side: int = Field(default=640, ge=64, le=4096, description="the text detector sees the crop scaled down to this side")


class FacesConfig(Strict):
    """Faces on person tracks (:mod:`.observers.faces`): only for wards that enabled them (DESIGN.md §7).

    Faces are searched in the upper part of the person box; the most probable face at least
    ``min_face_px`` high and ``min_probability`` sure is embedded. Bounded like plates.
    """

    detector: Annotated[str, _registered("FACE_DETECTORS")] = "mtcnn"
    embedder: Annotated[str, _registered("FACE_EMBEDDERS")] = "dlib"
    classes: tuple[CanonicalClass, ...] = Field(default=("person",), min_length=1, description="track classes looked at")
    every_s: float = Field(default=1.0, ge=0, le=3600, description="least seconds between two looks at one track")
    good_confidence: float = Field(default=0.95, gt=0, le=1, description="a face this good ends the looks at a track")
    good_face_px: int = Field(default=80, ge=12, le=4096, description="face height that counts as fully recognisable, px")
    min_face_px: int = Field(default=32, ge=12, le=4096, description="smallest face embedded, px (dlib needs about 30+)")
    min_probability: float = Field(default=0.95, ge=0, le=1, description="least detector probability of a face embedded")
    min_height: int = Field(default=96, ge=12, le=8192, description="smallest person box height looked at, px")
    max_per_frame: int = Field(default=2, ge=1, le=64, description="most person crops searched a frame")
    upper_fraction: float = Field(default=0.5, gt=0, le=1, description="top part of the person box searched for a face")
    padding: float = Field(
        default=0.1, ge=0, le=1, description="margin added around the searched part, as a fraction of the box width"
    )
    threads: int = Field(default=1, ge=1, le=64, description="torch CPU threads of the face detector (one pool per process)")


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
    plates: PlatesConfig | None = None  # none: no plate reading
    faces: FacesConfig | None = None  # none: no faces (the default; a ward must enable them)

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
            fallen = {label for model in self.detector.models for label in model.fallen}
            if isinstance(rule, PersonFallenConfig) and self.detector.models and not fallen & set(rule.labels):
                problems.append(
                    f"{where}.labels: no model reports {list(rule.labels)} as fallen; the models' fallen labels are {sorted(fallen)}"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self
