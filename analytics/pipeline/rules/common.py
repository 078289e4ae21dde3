"""What the track rules share: class filters, zone look-ups and per-track memory that forgets."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar

from analytics.pipeline.base import Anchor, Frame, Rule, RuleHit, Track
from analytics.pipeline.config import ZoneConfig
from analytics.pipeline.geometry import Point, point_in_polygon

_K = TypeVar("_K")
_V = TypeVar("_V")

#: A track not reported for this long is gone: its rule state is dropped. Long enough to survive a
#: detector that misses an object for a few frames, short enough to keep the state small.
FORGET_AFTER_S = 10.0


def track_hit(rule: Rule, frame: Frame, track: Track, **details: Any) -> RuleHit:
    """A hit of ``rule`` on one track in ``frame``; its details always name the track's class."""
    return RuleHit(
        rule=rule.name,
        type=rule.type,
        timestamp=frame.timestamp,
        frame_index=frame.index,
        track_ids=(track.id,),
        details={"class": track.cls, **details},
    )


def wanted(cls: str, classes: Iterable[str] | None) -> bool:
    return classes is None or cls in classes


def zone_polygons(names: Iterable[str], zones: Mapping[str, ZoneConfig]) -> list[tuple[str, tuple[Point, ...]]]:
    return [(name, tuple(zones[name].polygon)) for name in names]


def placements(
    tracks: Sequence[Track], zones: Sequence[tuple[str, tuple[Point, ...]]], classes: Iterable[str] | None, anchor: Anchor
) -> Iterator[tuple[Track, str, Point, bool]]:
    """Each wanted track against each zone: (track, zone name, the track's anchor point, inside?)."""
    for track in tracks:
        if not wanted(track.cls, classes):
            continue
        point = track.anchor(anchor)
        for zone, polygon in zones:
            yield track, zone, point, point_in_polygon(point, polygon)


class Memory(Generic[_K, _V]):
    """A dict of per-track state that drops entries not touched for ``FORGET_AFTER_S`` seconds."""

    def __init__(self, forget_after: float = FORGET_AFTER_S) -> None:
        self._items: dict[_K, tuple[float, _V]] = {}
        self._forget_after = forget_after
        self._last_sweep = float("-inf")

    def get(self, key: _K) -> _V | None:
        item = self._items.get(key)
        return None if item is None else item[1]

    def put(self, key: _K, value: _V, now: float) -> None:
        self._items[key] = (now, value)

    def drop(self, key: _K) -> None:
        self._items.pop(key, None)

    def sweep(self, now: float) -> None:
        if now - self._last_sweep < 1.0:
            return
        self._last_sweep = now
        stale = [key for key, (seen, _) in self._items.items() if now - seen > self._forget_after]
        for key in stale:
            del self._items[key]

    def __len__(self) -> int:
        return len(self._items)
