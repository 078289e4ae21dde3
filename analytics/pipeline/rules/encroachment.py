"""``encroachment``: a vehicle or stall (by default) stationary in a sidewalk or roadway zone for more
than ``seconds``.

Stationary means its anchor stays within ``radius_px`` of where it stopped; moving further restarts
the clock from the new place. One hit per stop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from analytics.pipeline.base import Frame, Rule, RuleHit, Track
from analytics.pipeline.config import EncroachmentConfig, LineConfig, ZoneConfig
from analytics.pipeline.geometry import Point, distance
from analytics.pipeline.rules.common import Memory, placements, track_hit, zone_polygons


class EncroachmentRule(Rule):
    type = "encroachment"

    def __init__(self, config: EncroachmentConfig, zones: Mapping[str, ZoneConfig], lines: Mapping[str, LineConfig]) -> None:
        self.config = config
        self.name = config.name
        self._zones = zone_polygons(config.zones, zones)
        self._kinds = {name: zones[name].kind for name in config.zones}
        self._stop: Memory[tuple[int, str], tuple[Point, float, bool]] = Memory()  # where, since, fired

    def update(self, tracks: Sequence[Track], frame: Frame) -> list[RuleHit]:
        hits: list[RuleHit] = []
        now = frame.timestamp
        for track, zone, point, inside in placements(tracks, self._zones, self.config.classes, self.config.anchor):
            key = (track.id, zone)
            if not inside:
                self._stop.drop(key)
                continue
            where, since, fired = self._stop.get(key) or (point, now, False)
            if distance(point, where) > self.config.radius_px:
                where, since, fired = point, now, False
            if not fired and now - since >= self.config.seconds:
                fired = True
                hits.append(
                    track_hit(
                        self,
                        frame,
                        track,
                        zone=zone,
                        zone_kind=self._kinds[zone],
                        seconds=round(now - since, 2),
                        box=track.box.as_tuple(),
                    )
                )
            self._stop.put(key, (where, since, fired), now)
        self._stop.sweep(now)
        return hits
