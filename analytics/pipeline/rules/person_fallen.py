"""``person_fallen``: a hit when a person track has been labelled fallen for ``min_seconds``.

The label comes from the model (the people model's "Fall", carried by ``Detection.label`` to
``Track.label``). A fall detector flickers between "Fall" and "Normal" on a person lying still, so
one "Normal" sighting does not end the fall: it ends once the track has been seen not fallen for
``RECOVERED_AFTER_S``. One hit per track; with ``zones``, only where the track's anchor is inside one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from analytics.pipeline.base import Frame, Rule, RuleHit, Track
from analytics.pipeline.config import LineConfig, PersonFallenConfig, ZoneConfig
from analytics.pipeline.geometry import point_in_polygon
from analytics.pipeline.rules.common import Memory, track_hit, wanted, zone_polygons

RECOVERED_AFTER_S = 1.0  # seen not fallen this long: the person got up (or it was a false "Fall")


class PersonFallenRule(Rule):
    type = "person_fallen"

    def __init__(self, config: PersonFallenConfig, zones: Mapping[str, ZoneConfig], lines: Mapping[str, LineConfig]) -> None:
        self.config = config
        self.name = config.name
        self._zones = zone_polygons(config.zones, zones)
        self._labels = frozenset(config.labels)
        self._fallen: Memory[int, tuple[float, float]] = Memory()  # track → (fallen since, last seen fallen)
        self._fired: Memory[int, bool] = Memory()

    def update(self, tracks: Sequence[Track], frame: Frame) -> list[RuleHit]:
        hits: list[RuleHit] = []
        now = frame.timestamp
        for track in tracks:
            if self._fired.get(track.id):
                self._fired.put(track.id, True, now)  # a held track is still the same person: never twice
                continue
            if not wanted(track.cls, self.config.classes) or track.held:
                continue
            state = self._fallen.get(track.id)
            if track.label not in self._labels:
                if state is not None and now - state[1] > RECOVERED_AFTER_S:
                    self._fallen.drop(track.id)
                continue
            since = state[0] if state is not None else now
            self._fallen.put(track.id, (since, now), now)
            point = track.anchor(self.config.anchor)
            zone = next((name for name, polygon in self._zones if point_in_polygon(point, polygon)), None)
            if now - since >= self.config.min_seconds and (zone is not None or not self._zones):
                self._fired.put(track.id, True, now)
                hits.append(
                    track_hit(
                        self, frame, track, label=track.label, seconds=round(now - since, 2), zone=zone, box=track.box.as_tuple()
                    )
                )
        self._fallen.sweep(now)
        self._fired.sweep(now)
        return hits
