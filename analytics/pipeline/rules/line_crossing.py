"""``line_crossing``: a hit per crossing of a counting line, with its direction and running counts.

A track's side of the line (A→B) is taken from its anchor point, and only once the point is more
than ``hysteresis_px`` from the line, so that a box jittering on the line does not count twice. A
crossing is a change of side whose path (from the last point on the old side to the first on the new
one) passes between A and B. Crossing from the left-hand side of A→B (as seen on screen) to its
right-hand side is the line's ``forward`` label, the other way ``backward``; counts are kept per
line, direction and class and travel in each hit's details.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from analytics.pipeline.base import Frame, Rule, RuleHit, Track
from analytics.pipeline.config import LineConfig, LineCrossingConfig, ZoneConfig
from analytics.pipeline.geometry import Point, segments_intersect, signed_distance
from analytics.pipeline.rules.common import Memory, track_hit, wanted


class LineCrossingRule(Rule):
    type = "line_crossing"

    def __init__(self, config: LineCrossingConfig, zones: Mapping[str, ZoneConfig], lines: Mapping[str, LineConfig]) -> None:
        self.config = config
        self.name = config.name
        self._lines = [lines[name] for name in config.lines]
        self._side: Memory[tuple[int, str], tuple[int, Point]] = Memory()
        self.counts: dict[str, Counter[tuple[str, str]]] = {line.name: Counter() for line in self._lines}

    def update(self, tracks: Sequence[Track], frame: Frame) -> list[RuleHit]:
        hits: list[RuleHit] = []
        now = frame.timestamp
        for track in tracks:
            if not wanted(track.cls, self.config.classes):
                continue
            point = track.anchor(self.config.anchor)
            for line in self._lines:
                a, b = line.points
                d = signed_distance(point, a, b)
                if abs(d) <= self.config.hysteresis_px:
                    continue
                side = 1 if d > 0 else -1
                key = (track.id, line.name)
                before = self._side.get(key)
                self._side.put(key, (side, point), now)
                if before is None or before[0] == side or not segments_intersect(before[1], point, a, b):
                    continue
                direction = line.forward if before[0] < 0 else line.backward
                counts = self.counts[line.name]
                counts[(direction, track.cls)] += 1
                hits.append(
                    track_hit(
                        self,
                        frame,
                        track,
                        line=line.name,
                        direction=direction,
                        count=counts[(direction, track.cls)],
                        counts={f"{d}/{c}": n for (d, c), n in sorted(counts.items())},
                    )
                )
        self._side.sweep(now)
        return hits
