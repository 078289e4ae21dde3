"""The frame loop: source → motion gate → detector (only when something moves) → tracker → rules.

:class:`Pipeline` builds each stage from the config through :mod:`.registry` unless one is given,
blacks out the privacy masks before any stage sees a frame, and keeps a :class:`Summary` as it goes:
frames read and analysed, detector runs and skips, the model that ran, tracks by class, rule hits,
line counts and the milliseconds each stage took. :meth:`Pipeline.stream` yields a
:class:`FrameResult` per analysed frame (for a live supervisor that raises alerts as hits come);
:meth:`Pipeline.run` drives it to the end and returns the summary (for a clip).

When the gate says nothing moves, the detector is skipped and the tracker is told that nothing was
searched, so still objects keep their tracks (and their dwell) through quiet frames.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from analytics.pipeline.base import (
    Detection,
    Detector,
    Frame,
    FrameSource,
    MotionGate,
    MotionResult,
    Rule,
    RuleHit,
    Sighting,
    SourceError,
    SourceHealth,
    Track,
    Tracker,
    TrackObserver,
)
from analytics.pipeline.config import PipelineConfig
from analytics.pipeline.registry import build_detector, build_motion_gate, build_observers, build_rules, build_tracker

STAGES = ("source", "motion", "detect", "track", "observe", "rules")


@dataclass(frozen=True, slots=True)
class FrameResult:
    frame: Frame
    motion: MotionResult
    detected: bool
    detections: tuple[Detection, ...]
    tracks: tuple[Track, ...]
    hits: tuple[RuleHit, ...]
    sightings: tuple[Sighting, ...] = ()


@dataclass
class Summary:
    """What a run did. ``stage_ms`` are totals; ``stage_ms_per_frame`` divides them by frames analysed."""

    model: str
    analysis_fps: float
    frames_read: int = 0
    frames_analysed: int = 0
    detector_runs: int = 0
    first_timestamp: float | None = None
    last_timestamp: float | None = None
    wall_s: float = 0.0
    stage_ms: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    track_classes: dict[int, str] = field(default_factory=dict)
    hits: list[RuleHit] = field(default_factory=list)
    sightings: dict[tuple[str, int], Sighting] = field(default_factory=dict)  # the best per (kind, track)
    source: SourceHealth | None = None
    error: str | None = None

    @property
    def frames_skipped(self) -> int:
        """Analysed frames on which the detector did not run (nothing moved)."""
        return self.frames_analysed - self.detector_runs

    @property
    def media_s(self) -> float:
        """Seconds of video covered (one analysis interval per analysed frame at the end)."""
        if self.first_timestamp is None or self.last_timestamp is None:
            return 0.0
        return self.last_timestamp - self.first_timestamp + 1.0 / self.analysis_fps

    @property
    def fps(self) -> float:
        return self.frames_analysed / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def realtime(self) -> float:
        """× real time: seconds of video analysed per second of work."""
        return self.media_s / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def tracks_by_class(self) -> dict[str, int]:
        return dict(sorted(Counter(self.track_classes.values()).items()))

    @property
    def hits_by_rule(self) -> dict[str, int]:
        return dict(sorted(Counter(h.rule for h in self.hits).items()))

    @property
    def line_counts(self) -> dict[str, dict[str, dict[str, int]]]:
        """line → direction → class → crossings."""
        counts: dict[str, dict[str, dict[str, int]]] = {}
        for hit in self.hits:
            if hit.type == "line_crossing":
                by_direction = counts.setdefault(hit.details["line"], {})
                by_class = by_direction.setdefault(hit.details["direction"], {})
                by_class[hit.details["class"]] = by_class.get(hit.details["class"], 0) + 1
        return counts

    @property
    def stage_ms_per_frame(self) -> dict[str, float]:
        n = max(1, self.frames_analysed)
        return {stage: ms / n for stage, ms in self.stage_ms.items()}

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "frames_read": self.frames_read,
            "frames_analysed": self.frames_analysed,
            "detector_runs": self.detector_runs,
            "frames_skipped": self.frames_skipped,
            "media_s": round(self.media_s, 3),
            "wall_s": round(self.wall_s, 3),
            "fps": round(self.fps, 1),
            "realtime": round(self.realtime, 1),
            "tracks": len(self.track_classes),
            "tracks_by_class": self.tracks_by_class,
            "hits_by_rule": self.hits_by_rule,
            "line_counts": self.line_counts,
            "plates": sorted({s.text for s in self.sightings.values() if s.kind == "plate"}),
            "faces": sum(1 for s in self.sightings.values() if s.kind == "face"),
            "stage_ms": {k: round(v, 1) for k, v in self.stage_ms.items()},
            "stage_ms_per_frame": {k: round(v, 3) for k, v in self.stage_ms_per_frame.items()},
            "error": self.error,
        }


class Pipeline:
    """One camera's (or clip's) analysis. Stages default to what ``config`` names; pass one to override.

    ``gate=False`` runs the detector on every analysed frame over the whole picture, without the
    motion gate (the "bare detector" baseline of DESIGN.md §10).
    """

    def __init__(
        self,
        config: PipelineConfig,
        source: FrameSource,
        *,
        motion: MotionGate | None = None,
        detector: Detector | None = None,
        tracker: Tracker | None = None,
        rules: Sequence[Rule] | None = None,
        observers: Sequence[TrackObserver] | None = None,
        gate: bool = True,
    ) -> None:
        self.config = config
        self.source = source
        self.motion = motion if motion is not None else build_motion_gate(config)
        self.detector = detector if detector is not None else build_detector(config)
        self.tracker = tracker if tracker is not None else build_tracker(config)
        self.rules = list(rules) if rules is not None else build_rules(config)
        self.observers = list(observers) if observers is not None else build_observers(config)
        self.gate = gate
        self._privacy = [np.round(np.array(m.polygon)).astype(np.int32) for m in config.masks if m.kind == "privacy"]
        self.summary = Summary(model=self.detector.name, analysis_fps=config.analysis_fps)

    def _blank_privacy(self, frame: Frame) -> Frame:
        if not self._privacy:
            return frame
        image = frame.image.copy()
        cv2.fillPoly(image, self._privacy, 0)
        return Frame(index=frame.index, timestamp=frame.timestamp, image=image)

    def stream(self, max_frames: int | None = None) -> Iterator[FrameResult]:
        """Analyse frame by frame; the summary is up to date after each yielded result."""
        s = self.summary
        ms = s.stage_ms
        clock = time.perf_counter
        frames = iter(self.source)
        started = clock()
        try:
            while max_frames is None or s.frames_analysed < max_frames:
                t0 = clock()
                try:
                    frame = self._blank_privacy(next(frames))
                except StopIteration:
                    break
                t1 = clock()
                motion = self.motion.update(frame) if self.gate else MotionResult(True)
                t2 = clock()
                detected = motion.moving
                if detected:
                    detections = self.detector.detect(frame.image, motion.regions if self.gate else None)
                    s.detector_runs += 1
                else:
                    detections = []
                t3 = clock()
                searched = (motion.regions if self.gate else None) if detected else ()
                tracks = self.tracker.update(detections, frame.timestamp, searched)
                t4 = clock()
                sightings = [sighting for observer in self.observers for sighting in observer.update(tracks, frame)]
                t4b = clock()
                hits = [hit for rule in self.rules for hit in rule.update(tracks, frame)]
                t5 = clock()
                ms["source"] += (t1 - t0) * 1000
                ms["motion"] += (t2 - t1) * 1000
                ms["detect"] += (t3 - t2) * 1000
                ms["track"] += (t4 - t3) * 1000
                ms["observe"] += (t4b - t4) * 1000
                ms["rules"] += (t5 - t4b) * 1000
                s.frames_analysed += 1
                if s.first_timestamp is None:
                    s.first_timestamp = frame.timestamp
                s.last_timestamp = frame.timestamp
                for track in tracks:
                    s.track_classes[track.id] = track.cls
                s.hits.extend(hits)
                for sighting in sightings:
                    best = s.sightings.get((sighting.kind, sighting.track_id))
                    if best is None or sighting.confidence > best.confidence:
                        s.sightings[(sighting.kind, sighting.track_id)] = sighting
                s.wall_s = clock() - started
                yield FrameResult(frame, motion, detected, tuple(detections), tuple(tracks), tuple(hits), tuple(sightings))
        except SourceError as exc:
            s.error = str(exc)
            raise
        finally:
            s.wall_s = clock() - started
            s.source = self.source.health()
            s.frames_read = s.source.frames_read

    def run(self, max_frames: int | None = None, on_hit: Callable[[RuleHit], None] | None = None) -> Summary:
        """Analyse until the source ends (or ``max_frames``); a source error is recorded, then raised."""
        for result in self.stream(max_frames):
            if on_hit is not None:
                for hit in result.hits:
                    on_hit(hit)
        return self.summary
