"""``loitering``: a hit when a track stays in one of the rule's zones longer than ``seconds``.

Time in the zone runs from the first frame the track is seen inside; being seen outside resets it.
One hit per stay.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from analytics.pipeline.base import Frame, Rule, RuleHit, Track
from analytics.pipeline.config import LineConfig, LoiteringConfig, ZoneConfig
from analytics.pipeline.rules.common import Memory, placements, track_hit, zone_polygons


class LoiteringRule(Rule):
    type = "loitering"

    def __init__(self, config: LoiteringConfig, zones: Mapping[str, ZoneConfig], lines: Mapping[str, LineConfig]) -> None:
        self.config = config
        self.name = config.name
        self._zones = zone_polygons(config.zones, zones)
        self._since: Memory[tuple[int, str], tuple[float, bool]] = Memory()  # entered at, fired

    def update(self, tracks: Sequence[Track], frame: Frame) -> list[RuleHit]:
        hits: list[RuleHit] = []
        now = frame.timestamp
        for track, zone, _point, inside in placements(tracks, self._zones, self.config.classes, self.config.anchor):
            key = (track.id, zone)
            if not inside:
                self._since.drop(key)
                continue
            entered, fired = self._since.get(key) or (now, False)
            if not fired and now - entered >= self.config.seconds:
                fired = True
                hits.append(track_hit(self, frame, track, zone=zone, seconds=round(now - entered, 2), box=track.box.as_tuple()))
            self._since.put(key, (entered, fired), now)
        self._since.sweep(now)
        return hits
