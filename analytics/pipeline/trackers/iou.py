"""``iou``: a greedy IoU/centroid tracker, the no-torch fallback (ByteTrack comes behind the same ABC).

Each frame, every (track, detection) pair is scored against the track's last box moved on at its
recent velocity: their overlap when it reaches ``iou_threshold``, else, when their centres are closer
than ``max_distance`` box diagonals, a small score that falls with the distance (a small or fast
object that no longer overlaps itself). Pairs are taken best first, each track and detection once; the
detections left start new tracks. Classes vote (the most frequent, weighted by confidence, wins), so
a detector that hesitates between car and truck does not split a track.

A track unmatched where the detector looked (``searched``) ages and is dropped after ``max_age_s``.
One outside the searched areas was not looked for: if it had stopped (its centre moved less than
``still_speed`` box heights a second between its last two sightings: MOG2 learns a parked vehicle as
background within a second, so the stop is seen briefly), it is held where it stopped and its dwell
keeps growing; if it was moving, it has left or was lost, and ages. Held tracks go when something moves over them
and no detection matches. Tracks are reported once matched ``min_hits`` times.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from analytics.pipeline.base import Box, Detection, Track, Tracker
from analytics.pipeline.config import TrackerConfig
from analytics.pipeline.trackers.common import direction, velocity

VELOCITY_WINDOW_S = 1.0  # velocity (and direction) over about the last second of the track
STOPPED_WINDOW_S = 0.0  # whether it has stopped: over its last interval


@dataclass
class _State:
    id: int
    boxes: deque[Box]
    times: deque[float]
    first_seen: float
    last_seen: float
    last_matched: float
    hits: int = 1
    confidence: float = 0.0
    votes: dict[str, float] = field(default_factory=dict)
    held: bool = False

    @property
    def cls(self) -> str:
        return max(self.votes, key=self.votes.__getitem__)


class IouTracker(Tracker):
    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self._tracks: list[_State] = []
        self._next_id = 1

    def update(self, detections: Sequence[Detection], timestamp: float, searched: Sequence[Box] | None = None) -> list[Track]:
        c = self.config
        pairs: list[tuple[float, int, int]] = []
        for ti, track in enumerate(self._tracks):
            last = self._predict(track, timestamp)
            diag = max(1.0, (last.width**2 + last.height**2) ** 0.5)
            (tx, ty) = last.center
            for di, det in enumerate(detections):
                iou = last.iou(det.box)
                if iou >= c.iou_threshold and iou > 0:
                    pairs.append((iou, ti, di))
                    continue
                dx, dy = det.box.center
                reach = ((dx - tx) ** 2 + (dy - ty) ** 2) ** 0.5 / diag
                if reach <= c.max_distance:
                    pairs.append((0.1 * c.iou_threshold * (1 - reach / c.max_distance), ti, di))
        pairs.sort(reverse=True)
        used_tracks: set[int] = set()
        used_detections: set[int] = set()
        for _score, ti, di in pairs:
            if ti in used_tracks or di in used_detections:
                continue
            used_tracks.add(ti)
            used_detections.add(di)
            self._match(self._tracks[ti], detections[di], timestamp)
        for ti, track in enumerate(self._tracks):
            if ti not in used_tracks:
                self._miss(track, timestamp, searched)
        self._tracks = [t for t in self._tracks if timestamp - t.last_seen <= c.max_age_s]
        for di, det in enumerate(detections):
            if di not in used_detections:
                self._tracks.append(self._new(det, timestamp))
        return [self._snapshot(t) for t in self._tracks if t.hits >= c.min_hits and t.last_seen == timestamp]

    def _new(self, det: Detection, timestamp: float) -> _State:
        n = self.config.history
        state = _State(
            id=self._next_id,
            boxes=deque([det.box], maxlen=n),
            times=deque([timestamp], maxlen=n),
            first_seen=timestamp,
            last_seen=timestamp,
            last_matched=timestamp,
            confidence=det.confidence,
        )
        state.votes[det.cls] = det.confidence or 1e-6
        self._next_id += 1
        return state

    def _match(self, track: _State, det: Detection, timestamp: float) -> None:
        track.boxes.append(det.box)
        track.times.append(timestamp)
        track.last_seen = track.last_matched = timestamp
        track.hits += 1
        track.confidence = det.confidence
        track.votes[det.cls] = track.votes.get(det.cls, 0.0) + (det.confidence or 1e-6)
        track.held = False

    def _miss(self, track: _State, timestamp: float, searched: Sequence[Box] | None) -> None:
        """Hold a still, confirmed track that nobody looked for; let any other unmatched track age."""
        if not self.config.hold_stationary or track.hits < self.config.min_hits:
            return
        last = track.boxes[-1]
        looked_for = searched is None or any(last.intersection(box) > 0 for box in searched)
        if looked_for or not self._still(track, self._speed(track, STOPPED_WINDOW_S)[2]):
            return
        track.last_seen = timestamp
        track.held = True

    def _predict(self, track: _State, timestamp: float) -> Box:
        """The last box moved on at the track's recent velocity (constant-velocity guess)."""
        last = track.boxes[-1]
        vx, vy, _ = self._speed(track, VELOCITY_WINDOW_S)
        dt = timestamp - track.times[-1]
        if dt <= 0 or (vx == 0 and vy == 0):
            return last
        return Box(last.x1 + vx * dt, last.y1 + vy * dt, last.x2 + vx * dt, last.y2 + vy * dt)

    def _still(self, track: _State, speed: float) -> bool:
        return speed <= self.config.still_speed * max(1.0, track.boxes[-1].height)

    @staticmethod
    def _speed(track: _State, window: float) -> tuple[float, float, float]:
        return velocity(track.times, track.boxes, window)

    def _snapshot(self, track: _State) -> Track:
        vx, vy, speed = (0.0, 0.0, 0.0) if track.held else self._speed(track, VELOCITY_WINDOW_S)
        return Track(
            id=track.id,
            cls=track.cls,
            boxes=tuple(track.boxes),
            times=tuple(track.times),
            first_seen=track.first_seen,
            last_seen=track.last_seen,
            hits=track.hits,
            confidence=track.confidence,
            velocity=(vx, vy),
            direction=direction(vx, vy, self._still(track, speed)),
            held=track.held,
        )
