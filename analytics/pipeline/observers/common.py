"""What every observer shares: which tracks to look at this frame, and cutting a track's box out of the frame.

:class:`LookSchedule` keeps, per track id, when it was last looked at and the best confidence so
far. A track is due when it is of a watched class, fresh (its box is from this frame), large
enough, not yet seen well (best < ``good_confidence``) and not looked at for ``every_s`` seconds.
Of the due tracks, at most ``max_per_frame`` are taken: never looked at first, then the longest
waiting, then the largest. Ids not seen for ``forget_s`` are forgotten, so the state stays small on
a camera that runs for months.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from analytics.pipeline.base import Box, Frame, Track


@dataclass(slots=True)
class _Seen:
    last_look: float = -math.inf
    best: float = 0.0
    last_seen: float = -math.inf


class LookSchedule:
    def __init__(
        self,
        *,
        classes: Collection[str],
        every_s: float,
        good_confidence: float,
        min_height: float,
        max_per_frame: int,
        forget_s: float = 60.0,
    ) -> None:
        self.classes = frozenset(classes)
        self.every_s = every_s
        self.good_confidence = good_confidence
        self.min_height = min_height
        self.max_per_frame = max_per_frame
        self.forget_s = forget_s
        self._seen: dict[int, _Seen] = {}

    def due(self, tracks: Sequence[Track], frame: Frame) -> list[Track]:
        """The tracks to look at on ``frame``; each one returned is counted as looked at now."""
        now = frame.timestamp
        candidates = []
        for track in tracks:
            if track.cls not in self.classes or track.last_seen < now - 1e-6:  # a stale box shows where it was, not is
                continue
            seen = self._seen.setdefault(track.id, _Seen())
            seen.last_seen = now
            if (
                track.box.height < self.min_height
                or seen.best >= self.good_confidence
                or now - seen.last_look < self.every_s - 1e-6
            ):
                continue
            candidates.append((seen.last_look, -track.box.area, track.id, track))
        candidates.sort(key=lambda c: c[:3])
        chosen = [track for *_, track in candidates[: self.max_per_frame]]
        for track in chosen:
            self._seen[track.id].last_look = now
        self._forget(now)
        return chosen

    def improves(self, track_id: int, confidence: float) -> bool:
        """Record a result for the track; true when it beats the best so far (worth reporting)."""
        seen = self._seen.setdefault(track_id, _Seen())
        if confidence <= seen.best:
            return False
        seen.best = confidence
        return True

    def best(self, track_id: int) -> float:
        seen = self._seen.get(track_id)
        return seen.best if seen is not None else 0.0

    def __len__(self) -> int:
        return len(self._seen)

    def _forget(self, now: float) -> None:
        if len(self._seen) > 64:
            self._seen = {i: s for i, s in self._seen.items() if now - s.last_seen <= self.forget_s}


def crop(image: np.ndarray, box: Box, *, padding: float, top: float = 0.0, bottom: float = 1.0) -> tuple[np.ndarray, int, int]:
    """The part of ``box`` between ``top`` and ``bottom`` (fractions of its height from its top edge),
    widened by ``padding`` × its width on every side and clipped to the image.

    Returns the pixels (a view; copy before keeping) and the crop's top-left corner in the image, to
    map results back to frame pixels. An empty crop (a box outside the image) has size 0.
    """
    h, w = image.shape[:2]
    margin = padding * box.width
    y_top = box.y1 + top * box.height
    y_bottom = box.y1 + bottom * box.height
    x0 = max(0, math.floor(box.x1 - margin))
    x1 = min(w, math.ceil(box.x2 + margin))
    y0 = max(0, math.floor(y_top - margin))
    y1 = min(h, math.ceil(y_bottom + margin))
    if x1 <= x0 or y1 <= y0:
        return image[0:0, 0:0], x0, y0
    return image[y0:y1, x0:x1], x0, y0
