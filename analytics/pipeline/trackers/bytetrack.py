"""``bytetrack``: ultralytics' ByteTrack (Kalman prediction, two-stage IoU matching) behind our Tracker ABC.

ByteTrack does the association: sure detections (``high_threshold``) are matched first, less sure
ones (above ``low_threshold``) only extend existing tracks, and a lost track can be found again for
``buffer_s`` seconds (converted to frames from the measured frame interval, since ByteTrack counts
frames). Around it this class keeps what our rules need and ByteTrack does not: each track's recent
boxes and times (the detections' own boxes, not the Kalman estimate), class votes weighted by
confidence (so that a car/truck hesitation does not flip the class), the model's latest label (a
fallen person's "Fall"), velocity and direction over the last second, and dwell.

Where nothing was searched (``searched`` given, and the track's last box outside every area), a
confirmed track that had stopped is held where it was, as in :mod:`.iou`: ByteTrack keeps it as
"lost" but its age is reset each frame, so it is neither dropped nor moved, and the detection that
reappears on it takes its id back. A track that was moving ages like any lost one.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np

from analytics.pipeline.base import Box, Detection, Track, Tracker
from analytics.pipeline.config import TrackerConfig
from analytics.pipeline.trackers.common import direction, velocity

VELOCITY_WINDOW_S = 1.0  # velocity (and direction) over about the last second of the track
DEFAULT_INTERVAL_S = 0.2  # frame interval assumed until two frames were seen (5 fps)


class _Detections:
    """The slice of ultralytics' ``Boxes`` that BYTETracker reads: ``xywh``, ``conf``, ``cls``, boolean indexing."""

    def __init__(self, xywh: np.ndarray, conf: np.ndarray, cls: np.ndarray) -> None:
        self.xywh, self.conf, self.cls = xywh, conf, cls

    @classmethod
    def of(cls, detections: Sequence[Detection], classes: dict[str, int]) -> _Detections:
        xywh = np.array([[*d.box.center, d.box.width, d.box.height] for d in detections], dtype=np.float32).reshape(-1, 4)
        conf = np.array([d.confidence for d in detections], dtype=np.float32)
        ids = np.array([classes.setdefault(d.cls, len(classes)) for d in detections], dtype=np.float32)
        return cls(xywh, conf, ids)

    def __len__(self) -> int:
        return len(self.conf)

    def __getitem__(self, index: Any) -> _Detections:
        return _Detections(self.xywh[index], self.conf[index], self.cls[index])


@dataclass
class _State:
    boxes: deque[Box]
    times: deque[float]
    first_seen: float
    last_seen: float
    hits: int = 0
    confidence: float = 0.0
    label: str = ""
    votes: dict[str, float] = field(default_factory=dict)

    @property
    def cls(self) -> str:
        return max(self.votes, key=self.votes.__getitem__)


class ByteTracker(Tracker):
    def __init__(self, config: TrackerConfig | None = None) -> None:
        from analytics.pipeline.detectors.yolo import prepare_ultralytics

        prepare_ultralytics()
        from ultralytics.trackers.byte_tracker import BYTETracker

        self.config = c = config or TrackerConfig()
        args = SimpleNamespace(
            track_high_thresh=c.high_threshold,
            track_low_thresh=c.low_threshold,
            new_track_thresh=c.new_track_threshold,
            track_buffer=self._buffer_frames(DEFAULT_INTERVAL_S),
            match_thresh=c.match_threshold,
            fuse_score=True,
        )
        self._byte = BYTETracker(args)
        self._states: dict[int, _State] = {}
        self._class_ids: dict[str, int] = {}
        self._last_timestamp: float | None = None
        self._interval = DEFAULT_INTERVAL_S

    def _buffer_frames(self, interval: float) -> int:
        return max(1, math.ceil(self.config.buffer_s / max(interval, 1e-3)))

    def update(self, detections: Sequence[Detection], timestamp: float, searched: Sequence[Box] | None = None) -> list[Track]:
        if self._last_timestamp is not None and timestamp > self._last_timestamp:
            # A smoothed frame interval turns buffer_s into ByteTrack's frame count.
            self._interval = 0.8 * self._interval + 0.2 * (timestamp - self._last_timestamp)
            self._byte.max_frames_lost = self._buffer_frames(self._interval)
        self._last_timestamp = timestamp
        rows = self._byte.update(_Detections.of(detections, self._class_ids))
        tracks: list[Track] = []
        seen: set[int] = set()
        for row in rows:
            track_id, index = int(row[4]), int(row[7])
            det = detections[index]
            state = self._states.get(track_id)
            if state is None:
                n = self.config.history
                state = self._states[track_id] = _State(deque(maxlen=n), deque(maxlen=n), timestamp, timestamp)
            state.boxes.append(det.box)
            state.times.append(timestamp)
            state.last_seen = timestamp
            state.hits += 1
            state.confidence = det.confidence
            state.label = det.label
            state.votes[det.cls] = state.votes.get(det.cls, 0.0) + (det.confidence or 1e-6)
            seen.add(track_id)
            if state.hits >= self.config.min_hits:
                tracks.append(self._snapshot(track_id, state, held=False))
        tracks.extend(self._hold(timestamp, searched, seen))
        self._forget()
        return tracks

    def _hold(self, timestamp: float, searched: Sequence[Box] | None, seen: set[int]) -> list[Track]:
        """Keep still, confirmed tracks that nobody looked for where they stopped (see the module doc)."""
        if not self.config.hold_stationary or searched is None:
            return []
        held = []
        for strack in self._byte.lost_stracks:
            state = self._states.get(int(strack.track_id))
            if state is None or strack.track_id in seen or state.hits < self.config.min_hits:
                continue
            last = state.boxes[-1]
            if any(last.intersection(box) > 0 for box in searched) or not self._still(state, self._speed(state, 0.0)[2]):
                continue
            strack.frame_id = self._byte.frame_id  # not aged: it was not looked for
            state.last_seen = timestamp
            held.append(self._snapshot(int(strack.track_id), state, held=True))
        return held

    def _forget(self) -> None:
        alive = {int(t.track_id) for t in (*self._byte.tracked_stracks, *self._byte.lost_stracks)}
        for track_id in [i for i in self._states if i not in alive]:
            del self._states[track_id]

    def _still(self, state: _State, speed: float) -> bool:
        return speed <= self.config.still_speed * max(1.0, state.boxes[-1].height)

    @staticmethod
    def _speed(state: _State, window: float) -> tuple[float, float, float]:
        return velocity(state.times, state.boxes, window)

    def _snapshot(self, track_id: int, state: _State, held: bool) -> Track:
        vx, vy, speed = (0.0, 0.0, 0.0) if held else self._speed(state, VELOCITY_WINDOW_S)
        return Track(
            id=track_id,
            cls=state.cls,
            boxes=tuple(state.boxes),
            times=tuple(state.times),
            first_seen=state.first_seen,
            last_seen=state.last_seen,
            hits=state.hits,
            confidence=state.confidence,
            velocity=(vx, vy),
            direction=direction(vx, vy, self._still(state, speed)),
            held=held,
            label=state.label,
        )
