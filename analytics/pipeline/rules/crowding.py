"""``crowding``: a hit when more than ``max_people`` tracks (people by default) are in a zone at once,
for at least ``seconds``. One hit per crowd: it re-arms once the count is back to ``max_people``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from analytics.pipeline.base import Frame, Rule, RuleHit, Track
from analytics.pipeline.config import CrowdingConfig, LineConfig, ZoneConfig
from analytics.pipeline.geometry import point_in_polygon
from analytics.pipeline.rules.common import wanted, zone_polygons


class CrowdingRule(Rule):
    type = "crowding"

    def __init__(self, config: CrowdingConfig, zones: Mapping[str, ZoneConfig], lines: Mapping[str, LineConfig]) -> None:
        self.config = config
        self.name = config.name
        self._zones = zone_polygons(config.zones, zones)
        self._over: dict[str, tuple[float, bool]] = {}  # zone -> crowded since, fired

    def update(self, tracks: Sequence[Track], frame: Frame) -> list[RuleHit]:
        hits: list[RuleHit] = []
        now = frame.timestamp
        counted = [t for t in tracks if wanted(t.cls, self.config.classes)]
        for zone, polygon in self._zones:
            inside = [t for t in counted if point_in_polygon(t.anchor(self.config.anchor), polygon)]
            if len(inside) <= self.config.max_people:
                self._over.pop(zone, None)
                continue
            since, fired = self._over.get(zone, (now, False))
            if not fired and now - since >= self.config.seconds:
                fired = True
                hits.append(
                    RuleHit(
                        rule=self.name,
                        type=self.type,
                        timestamp=now,
                        frame_index=frame.index,
                        track_ids=tuple(sorted(t.id for t in inside)),
                        details={"zone": zone, "count": len(inside), "max": self.config.max_people},
                    )
                )
            self._over[zone] = (since, fired)
        return hits
