"""Turns what a pipeline run sees into rows: tracks, plate reads, face sightings and alerts.

One :class:`ResultWriter` per run (a clip job, or one session of a live stream supervisor). It keeps
the run's state in memory and writes on :meth:`ResultWriter.flush`, in one transaction. Every row
has a key that is the same each time the same footage is analysed (``source`` names the run,
``key`` the track; alerts from a clip get ``client_id``), so a job retried after its worker died
overwrites what the first attempt wrote instead of adding to it.

Alerts: on a live stream every rule hit goes through :func:`analytics.services.raise_alert` (grouped,
pushed to the ward's browsers). On a clip, hits of the same rule within ``ALERT_GROUP_SECONDS`` of
footage are one alert with a count, attached to the job and not pushed: the footage is not live.
Times are the run's ``origin`` plus the pipeline's seconds (media time for a clip).

Watchlists: the plate reads and face sightings of each flush are queued for matching once it commits
(``watchlists.services.queue_matching``), from live streams and clips alike: a hit in a clip's
recorded footage still raises the watchlist alert, its details saying which clip job it came from.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from analytics.models import DEFAULT_SEVERITY, Alert, AlertType, ClipJob, FaceSighting, PlateRead, Track
from analytics.pipeline.base import RuleHit, Sighting
from analytics.pipeline.base import Track as PipelineTrack
from analytics.pipeline.config import PipelineConfig
from analytics.pipeline.draw import annotate, jpeg
from analytics.pipeline.runner import FrameResult

if TYPE_CHECKING:
    from cameras.models import Camera

PATH_STEP_S = 0.5  # one path point per half second of footage
PATH_MAX_POINTS = 240
TRACK_GONE_S = 5.0  # a live track unseen this long is final


@dataclass
class _TrackState:
    cls: str
    first: float
    last: float
    confidence: float = 0.0
    direction: str = ""
    path: list[list[float]] = field(default_factory=list)
    dirty: bool = True

    def see(self, track: PipelineTrack) -> None:
        self.last = track.last_seen
        self.cls = track.cls
        self.direction = track.direction
        self.confidence = max(self.confidence, track.confidence)
        x, y = track.box.center
        t = round(track.last_seen - self.first, 2)
        if not self.path or t - self.path[-1][0] >= PATH_STEP_S:
            self.path.append([t, round(x, 1), round(y, 1)])
            if len(self.path) > PATH_MAX_POINTS:
                self.path = self.path[::2]
        self.dirty = True


@dataclass
class _AlertGroup:
    client_id: str
    type: str
    rule: str
    first: float
    last: float
    count: int
    details: dict[str, Any]
    snapshot: bytes | None
    dirty: bool = True


@dataclass
class KeyFrame:
    timestamp: float
    frame_index: int
    tracks: int
    image: bytes


class ResultWriter:
    def __init__(
        self,
        *,
        ward_id: int,
        source: str,
        origin: dt.datetime,
        config: PipelineConfig,
        model: str,
        camera: Camera | None = None,
        job: ClipJob | None = None,
        key_frame_every_s: float = 10.0,
        max_key_frames: int = 12,
    ) -> None:
        self.ward_id = ward_id
        self.source = source
        self.origin = origin
        self.config = config
        self.model = model[:200]
        self.camera = camera
        self.job = job
        self.live = job is None
        self._tracks: dict[int, _TrackState] = {}
        self._sightings: dict[tuple[str, int], Sighting] = {}
        self._dirty_sightings: set[tuple[str, int]] = set()
        self._groups: dict[str, _AlertGroup] = {}
        self._live_hits: list[tuple[RuleHit, bytes]] = []
        self._key_every = key_frame_every_s
        self._max_key_frames = max_key_frames
        self._key_candidate: FrameResult | None = None
        self.key_frames: list[KeyFrame] = []
        self.now = 0.0

    def at(self, seconds: float) -> dt.datetime:
        return self.origin + dt.timedelta(seconds=seconds)

    # --- collecting -------------------------------------------------------------------------

    def add(self, result: FrameResult) -> None:
        self.now = result.frame.timestamp
        for track in result.tracks:
            state = self._tracks.get(track.id)
            if state is None:
                state = self._tracks[track.id] = _TrackState(cls=track.cls, first=track.first_seen, last=track.last_seen)
            state.see(track)
        for sighting in result.sightings:
            k = (sighting.kind, sighting.track_id)
            best = self._sightings.get(k)
            if best is None or sighting.confidence > best.confidence:
                self._sightings[k] = sighting
                self._dirty_sightings.add(k)
        if result.hits:
            picture = jpeg(
                annotate(result.frame.image, result.tracks, self.config, highlight=[i for h in result.hits for i in h.track_ids])
            )
            for hit in result.hits:
                if self.live:
                    self._live_hits.append((hit, picture))
                else:
                    self._group(hit, picture)
        if not self.live and result.tracks:
            self._consider_key_frame(result)

    def _group(self, hit: RuleHit, picture: bytes) -> None:
        window = settings.ALERT_GROUP_SECONDS
        group = self._groups.get(hit.rule)
        if group is not None and hit.timestamp - group.last <= window:
            group.count += 1
            group.last = hit.timestamp
            group.dirty = True
            return
        client_id = f"{self.source}:{hit.rule}:{hit.frame_index}"
        details = {"rule": hit.rule, "model": self.model, "tracks": list(hit.track_ids), **hit.details}
        self._groups[hit.rule] = self._groups[client_id] = _AlertGroup(
            client_id, hit.type, hit.rule, hit.timestamp, hit.timestamp, 1, details, picture
        )

    def _consider_key_frame(self, result: FrameResult) -> None:
        """Keep, per ``key_frame_every_s`` of footage, the frame with the most tracks in it. Only the
        chosen one is drawn and encoded (when its stretch of footage ends), not every better candidate."""
        if len(self.key_frames) >= self._max_key_frames:
            return
        bucket = int(result.frame.timestamp // self._key_every)
        candidate = self._key_candidate
        if candidate is not None and int(candidate.frame.timestamp // self._key_every) != bucket:
            self._keep_key_frame()
            candidate = None
        if candidate is None or len(result.tracks) > len(candidate.tracks):
            self._key_candidate = result

    def _keep_key_frame(self) -> None:
        chosen, self._key_candidate = self._key_candidate, None
        if chosen is not None:
            image = jpeg(annotate(chosen.frame.image, chosen.tracks, self.config), quality=80)
            self.key_frames.append(KeyFrame(chosen.frame.timestamp, chosen.frame.index, len(chosen.tracks), image))

    def timeline(self) -> list[dict[str, Any]]:
        """A clip's rule hits, grouped as its alerts are, in footage order (for the job summary)."""
        groups = {id(g): g for g in self._groups.values()}.values()
        return [
            {
                "type": g.type,
                "rule": g.rule,
                "t": round(g.first, 2),
                "until": round(g.last, 2),
                "count": g.count,
                "details": g.details,
            }
            for g in sorted(groups, key=lambda g: g.first)
        ]

    # --- writing ----------------------------------------------------------------------------

    def flush(self, *, final: bool = False) -> None:
        if final and len(self.key_frames) < self._max_key_frames:
            self._keep_key_frame()
        with transaction.atomic():
            track_ids = self._write_tracks()
            self._write_sightings(track_ids)
            self._write_alerts()
        if not final:
            gone = [tid for tid, s in self._tracks.items() if not s.dirty and self.now - s.last > TRACK_GONE_S]
            for tid in gone:  # a live session's memory stays bounded
                self._tracks.pop(tid, None)
                self._sightings.pop(("plate", tid), None)
                self._sightings.pop(("face", tid), None)

    def _common(self) -> dict[str, Any]:
        return {"ward_id": self.ward_id, "camera": self.camera, "job": self.job, "source": self.source, "model": self.model}

    def _write_tracks(self) -> dict[int, int]:
        dirty = {tid: s for tid, s in self._tracks.items() if s.dirty}
        rows = [
            Track(
                **self._common(),
                key=str(tid),
                cls=s.cls,
                first_seen=self.at(s.first),
                last_seen=self.at(s.last),
                dwell_s=round(s.last - s.first, 2),
                direction=s.direction,
                confidence=round(s.confidence, 3),
                path=s.path,
            )
            for tid, s in dirty.items()
        ]
        if rows:
            Track.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["source", "key"],
                update_fields=["cls", "last_seen", "dwell_s", "direction", "confidence", "path", "model"],
            )
        for s in dirty.values():
            s.dirty = False
        wanted = {str(tid) for _, tid in self._dirty_sightings}
        if not wanted:
            return {}
        return {int(k): pk for k, pk in Track.objects.filter(source=self.source, key__in=wanted).values_list("key", "pk")}

    def _save_image(self, folder: str, key: str, data: bytes) -> str:
        # A fixed name per run and object: a retried job replaces its picture instead of adding one.
        name = f"{folder}/{self.ward_id}/{self.source.replace(':', '-')}/{key}.jpg"
        if default_storage.exists(name):
            default_storage.delete(name)
        return default_storage.save(name, ContentFile(data))

    def _write_sightings(self, track_ids: dict[int, int]) -> None:
        from watchlists.services import queue_face_matching, queue_matching

        plate_ids: list[int] = []
        face_ids: list[int] = []
        for kind, tid in sorted(self._dirty_sightings):
            s = self._sightings.get((kind, tid))
            if s is None:
                continue
            key = str(tid)
            crop = self._save_image("plates" if kind == "plate" else "faces", key, jpeg(s.crop, quality=90))
            common = {
                **self._common(),
                "model": s.model[:200],
                "track_id": track_ids.get(tid),
                "confidence": round(s.confidence, 3),
            }
            if kind == "plate":
                read, _created = PlateRead.objects.update_or_create(
                    source=self.source,
                    key=key,
                    defaults={
                        **common,
                        "plate": s.raw[:32],
                        "text": s.text[:32],
                        "search_key": s.key[:32],
                        "seen_at": self.at(s.timestamp),
                        "crop": crop,
                        "vehicle_class": track.cls if (track := self._tracks.get(tid)) else "",
                    },
                )
                plate_ids.append(read.pk)
            else:
                face, _created = FaceSighting.objects.update_or_create(
                    source=self.source,
                    key=key,
                    defaults={
                        **common,
                        "seen_at": self.at(s.timestamp),
                        "embedding": [round(v, 6) for v in s.embedding],
                        "crop": crop,
                    },
                )
                face_ids.append(face.pk)
        self._dirty_sightings.clear()
        # Watchlists: checked after this flush commits, live or clip alike (a clip's hit says it was
        # recorded footage). A read rewritten with a better text is checked again; hits are unique.
        queue_matching(plate_ids)
        queue_face_matching(face_ids)

    def _write_alerts(self) -> None:
        if self.live:
            self._raise_live()
            return
        for group in {id(g): g for g in self._groups.values()}.values():
            if not group.dirty:
                continue
            alert = Alert.objects.filter(ward_id=self.ward_id, client_id=group.client_id).first()
            if alert is None:
                if self.job is None or self.job.camera_id is None:
                    # Alerts belong to a camera; a clip without one keeps its hits in the job summary.
                    group.dirty = False
                    continue
                alert = Alert(
                    ward_id=self.ward_id,
                    camera_id=self.job.camera_id,
                    job=self.job,
                    client_id=group.client_id,
                    type=group.type,
                    severity=DEFAULT_SEVERITY[AlertType(group.type)],
                    raised_at=self.at(group.first),
                )
                if group.snapshot:
                    alert.snapshot.save(f"{group.client_id.replace(':', '-')}.jpg", ContentFile(group.snapshot), save=False)
            alert.last_seen_at = self.at(group.last)
            alert.count = group.count
            alert.details = group.details
            alert.save()
            group.dirty = False

    def _raise_live(self) -> None:
        from analytics.services import raise_alert

        assert self.camera is not None
        for hit, picture in self._live_hits:
            raise_alert(
                camera=self.camera,
                type=hit.type,
                at=self.at(hit.timestamp),
                snapshot=ContentFile(picture, name=f"{self.camera.pk}-{hit.frame_index}.jpg"),
                details={"rule": hit.rule, "model": self.model, "tracks": list(hit.track_ids), **hit.details},
            )
        self._live_hits.clear()
