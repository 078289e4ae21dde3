"""``zone_intrusion``: a hit when a track (of the chosen classes) enters one of the rule's zones.

One hit per entry: a track that stays inside fires once; it fires again only after it has been seen
outside. A track first seen inside (it appeared there) counts as entering.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from analytics.pipeline.base import Frame, Rule, RuleHit, Track
from analytics.pipeline.config import LineConfig, ZoneConfig, ZoneIntrusionConfig
from analytics.pipeline.rules.common import Memory, placements, track_hit, zone_polygons


class ZoneIntrusionRule(Rule):
    type = "zone_intrusion"

    def __init__(self, config: ZoneIntrusionConfig, zones: Mapping[str, ZoneConfig], lines: Mapping[str, LineConfig]) -> None:
        self.config = config
        self.name = config.name
        self._zones = zone_polygons(config.zones, zones)
        self._inside: Memory[tuple[int, str], bool] = Memory()

    def update(self, tracks: Sequence[Track], frame: Frame) -> list[RuleHit]:
        hits: list[RuleHit] = []
        now = frame.timestamp
        for track, zone, point, inside in placements(tracks, self._zones, self.config.classes, self.config.anchor):
            if inside and not self._inside.get((track.id, zone)):
                hits.append(track_hit(self, frame, track, zone=zone, point=point, box=track.box.as_tuple()))
            self._inside.put((track.id, zone), inside, now)
        self._inside.sweep(now)
        return hits
