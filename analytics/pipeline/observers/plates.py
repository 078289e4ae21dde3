"""``plates``: licence plates read on vehicle tracks with the plate reader of :mod:`analytics.plates`.

The vehicle's box (padded, its top quarter left out: plates sit low on cars, bikes, buses and
trucks) is cut from the frame and handed whole to the reader, whose text detector finds the plate
lines on the crop and whose recogniser reads them; the Vietnamese plate grammar then keeps only
reads that are plates. A separate plate localiser would add a model and a pass for little: the
text detector already localises, on a ~300×200 vehicle crop it costs 15-20 ms against ~30 ms a
text line for the recogniser, and reading the plate alone is no cheaper than reading the crop
(``bench/observers.py`` measures all three).

Cost is bounded by :class:`.common.LookSchedule`: a track is read at most every ``every_s``
seconds, no longer once a read reached ``good_confidence``, never while its box is lower than
``min_height`` px, and at most ``max_per_frame`` tracks a frame. A sighting is reported only when it
is more confident than the track's best so far.
"""

from __future__ import annotations

from collections.abc import Sequence

from analytics.pipeline.base import Box, Frame, Sighting, Track, TrackObserver
from analytics.pipeline.config import PlatesConfig
from analytics.pipeline.observers.common import LookSchedule, crop
from analytics.plates import PlateReader, make_reader


class PlateObserver(TrackObserver):
    name = "plates"

    def __init__(self, config: PlatesConfig | None = None, reader: PlateReader | None = None) -> None:
        self.config = config or PlatesConfig()
        c = self.config
        self.reader = reader if reader is not None else make_reader(c.reader, {"det_max_side": c.det_max_side})
        self.schedule = LookSchedule(
            classes=c.classes,
            every_s=c.every_s,
            good_confidence=c.good_confidence,
            min_height=c.min_height,
            max_per_frame=c.max_per_frame,
        )

    @property
    def model(self) -> str:
        return self.reader.model

    def update(self, tracks: Sequence[Track], frame: Frame) -> list[Sighting]:
        sightings = []
        for track in self.schedule.due(tracks, frame):
            sighting = self._look(track, frame)
            if sighting is not None and self.schedule.improves(track.id, sighting.confidence):
                sightings.append(sighting)
        return sightings

    def _look(self, track: Track, frame: Frame) -> Sighting | None:
        pixels, x0, y0 = crop(frame.image, track.box, padding=self.config.padding, top=self.config.skip_top)
        if pixels.size == 0:
            return None
        reads = [r for r in self.reader.read(pixels) if r.valid and r.confidence >= self.config.min_confidence]
        if not reads:
            return None
        best = reads[0]  # the reader returns the most confident first
        bx0, by0, bx1, by1 = best.box
        return Sighting(
            kind="plate",
            track_id=track.id,
            timestamp=frame.timestamp,
            frame_index=frame.index,
            box=Box(x0 + bx0, y0 + by0, x0 + bx1, y0 + by1),
            confidence=best.confidence,
            crop=best.crop,
            model=self.reader.model,
            text=best.text,
            raw=best.plate.raw if best.plate is not None else " / ".join(best.lines),
            key=best.key,
        )
