"""Names a :class:`~.config.PipelineConfig` may use, mapped to the class implementing each stage.

Entries are ``"module:Class"`` strings imported on first use, so that choosing the motion-blob
fallback never imports torch, and so that :mod:`.config` can validate names against this table
without importing any implementation. Adding a backend is one file plus one line here.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from analytics import faces, plates
from analytics.pipeline.base import Detector, FrameSource, MotionGate, Rule, Tracker, TrackObserver

if TYPE_CHECKING:
    from analytics.pipeline.config import PipelineConfig

_P = "analytics.pipeline"

MOTION_GATES: Mapping[str, str] = {"mog2": f"{_P}.motion.mog2:Mog2MotionGate"}
DETECTORS: Mapping[str, str] = {
    "motion-blobs": f"{_P}.detectors.blobs:BlobDetector",
    "yolo": f"{_P}.detectors.yolo:YoloDetector",
}
TRACKERS: Mapping[str, str] = {
    "iou": f"{_P}.trackers.iou:IouTracker",
    "bytetrack": f"{_P}.trackers.bytetrack:ByteTracker",
}
RULES: Mapping[str, str] = {
    "zone_intrusion": f"{_P}.rules.zone_intrusion:ZoneIntrusionRule",
    "line_crossing": f"{_P}.rules.line_crossing:LineCrossingRule",
    "loitering": f"{_P}.rules.loitering:LoiteringRule",
    "crowding": f"{_P}.rules.crowding:CrowdingRule",
    "encroachment": f"{_P}.rules.encroachment:EncroachmentRule",
    "tampered": f"{_P}.rules.tampered:TamperedRule",
    "person_fallen": f"{_P}.rules.person_fallen:PersonFallenRule",
}
#: Observers look closer at tracks; each runs when its section of the config is present (not ``None``).
OBSERVERS: Mapping[str, str] = {
    "plates": f"{_P}.observers.plates:PlateObserver",
    "faces": f"{_P}.observers.faces:FaceObserver",
}
#: The observers' backends live in their own packages (usable without the pipeline); named here for the config.
PLATE_READERS: Mapping[str, str] = plates.READERS
FACE_DETECTORS: Mapping[str, str] = faces.DETECTORS
FACE_EMBEDDERS: Mapping[str, str] = faces.EMBEDDERS
SOURCES: Mapping[str, str] = {
    "file": f"{_P}.sources.file:FileSource",
    "stream": f"{_P}.sources.stream:StreamSource",
}


def resolve(table: Mapping[str, str], name: str) -> type:
    """The class registered under ``name``; a clear error naming the choices if there is none."""
    try:
        target = table[name]
    except KeyError:
        raise KeyError(f"no implementation named {name!r}; choose one of: {', '.join(sorted(table))}") from None
    module_name, _, class_name = target.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    if not isinstance(cls, type):
        raise TypeError(f"{target} is not a class")
    return cls


def build_motion_gate(config: PipelineConfig) -> MotionGate:
    gate = resolve(MOTION_GATES, config.motion.name)(config.motion, config.masks)
    assert isinstance(gate, MotionGate)
    return gate


def build_detector(config: PipelineConfig) -> Detector:
    detector = resolve(DETECTORS, config.detector.name)(config.detector)
    assert isinstance(detector, Detector)
    return detector


def build_tracker(config: PipelineConfig) -> Tracker:
    tracker = resolve(TRACKERS, config.tracker.name)(config.tracker)
    assert isinstance(tracker, Tracker)
    return tracker


def build_rules(config: PipelineConfig) -> list[Rule]:
    zones = {z.name: z for z in config.zones}
    lines = {line.name: line for line in config.lines}
    rules = [resolve(RULES, r.type)(r, zones, lines) for r in config.rules]
    assert all(isinstance(rule, Rule) for rule in rules)
    return rules


def build_observers(config: PipelineConfig) -> list[TrackObserver]:
    """An observer for each of ``config.plates`` / ``config.faces`` that is set, in that order."""
    observers = [resolve(OBSERVERS, name)(section) for name in OBSERVERS if (section := getattr(config, name)) is not None]
    assert all(isinstance(observer, TrackObserver) for observer in observers)
    return observers


def open_source(location: str, fps: float, **options: Any) -> FrameSource:
    """A stream source for anything shaped like ``scheme:...`` (refused there unless rtsp/rtsps/http/https),
    otherwise a file source. A path is never handed to FFmpeg as ``concat:``, ``pipe:`` and the like."""
    kind = "stream" if _SCHEME.match(location) and not os.path.isfile(location) else "file"
    source = resolve(SOURCES, kind)(location, fps, **options)
    assert isinstance(source, FrameSource)
    return source


_SCHEME = re.compile(r"^\s*[A-Za-z][A-Za-z0-9+.\-|]*:")
