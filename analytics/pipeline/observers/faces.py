"""``faces``: a face found, and embedded, on person tracks (only for wards that enabled faces, DESIGN.md §7).

The upper part of the person's box (``upper_fraction``, padded) is cut from the frame; the face
detector (MTCNN) searches it for faces of at least ``min_face_px``; the most probable face above
``min_probability`` is embedded (dlib, 128 numbers) and reported with its crop. Its confidence is
the detector's probability scaled down for faces smaller than ``good_face_px`` (a small face is a
weak embedding), so that a later, larger view of the same person replaces an early, distant one.

Bounded like plates by :class:`.common.LookSchedule`: at most every ``every_s`` seconds a track,
not after a good face, not on boxes lower than ``min_height``, at most ``max_per_frame`` a frame.
"""

from __future__ import annotations

from collections.abc import Sequence

from analytics.faces import Face, FaceDetector, FaceEmbedder, make_detector, make_embedder
from analytics.pipeline.base import Box, Frame, Sighting, Track, TrackObserver
from analytics.pipeline.config import FacesConfig
from analytics.pipeline.observers.common import LookSchedule, crop


class FaceObserver(TrackObserver):
    name = "faces"

    def __init__(
        self, config: FacesConfig | None = None, detector: FaceDetector | None = None, embedder: FaceEmbedder | None = None
    ) -> None:
        self.config = config or FacesConfig()
        c = self.config
        self.detector = (
            detector if detector is not None else make_detector(c.detector, min_face_px=c.min_face_px, threads=c.threads)
        )
        self.embedder = embedder if embedder is not None else make_embedder(c.embedder)
        self.schedule = LookSchedule(
            classes=c.classes,
            every_s=c.every_s,
            good_confidence=c.good_confidence,
            min_height=c.min_height,
            max_per_frame=c.max_per_frame,
        )

    @property
    def model(self) -> str:
        return f"{self.detector.model} + {self.embedder.model}"

    def update(self, tracks: Sequence[Track], frame: Frame) -> list[Sighting]:
        sightings = []
        for track in self.schedule.due(tracks, frame):
            sighting = self._look(track, frame)
            if sighting is not None and self.schedule.improves(track.id, sighting.confidence):
                sightings.append(sighting)
        return sightings

    def _quality(self, face: Face) -> float:
        """The detector's probability, scaled down for a face smaller than ``good_face_px``."""
        return face.probability * min(1.0, face.height / self.config.good_face_px)

    def _look(self, track: Track, frame: Frame) -> Sighting | None:
        c = self.config
        pixels, x0, y0 = crop(frame.image, track.box, padding=c.padding, bottom=c.upper_fraction)
        if pixels.size == 0:
            return None
        faces = [f for f in self.detector.detect(pixels) if f.probability >= c.min_probability and f.size >= c.min_face_px]
        if not faces:
            return None
        face = max(faces, key=self._quality)
        if self._quality(face) <= self.schedule.best(track.id):
            return None  # no better than the face already reported: spare the embedding (the costlier half)
        embedding = self.embedder.embed(pixels, face)
        h, w = pixels.shape[:2]
        fx1, fy1 = max(0, int(face.box[0])), max(0, int(face.box[1]))
        fx2, fy2 = min(w, int(round(face.box[2]))), min(h, int(round(face.box[3])))
        return Sighting(
            kind="face",
            track_id=track.id,
            timestamp=frame.timestamp,
            frame_index=frame.index,
            box=Box(x0 + fx1, y0 + fy1, x0 + fx2, y0 + fy2),
            confidence=self._quality(face),
            crop=pixels[fy1:fy2, fx1:fx2].copy(),
            model=self.model,
            embedding=tuple(float(v) for v in embedding),
        )
