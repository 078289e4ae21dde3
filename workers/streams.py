"""Live stream supervisors: one per camera, held by a lease, run as Celery tasks on the ``streams`` queue.

How cameras find a worker (no cluster protocol beyond one database row per camera):

- Celery beat runs :func:`assign_streams` every ``STREAM_ASSIGN_SECONDS``: each camera that wants a
  supervisor (its ``AnalysisSettings`` say ``live`` or ``record``, it has a stream URL and is online or
  offline) and has no live lease gets a ``streams.run`` message on the ``streams`` queue, which expires
  unless a worker takes it within two rounds.
- ``streams.run`` is a long-running task: :class:`StreamSupervisor` takes the camera's ``StreamLease``
  with one conditional UPDATE (free or expired → ours), so two workers never run the same camera,
  and renews it every ``STREAM_HEARTBEAT_SECONDS`` together with the stream's health. A worker that
  dies stops renewing; after ``STREAM_LEASE_SECONDS`` the lease is free and the next assign round
  sends the camera to another worker: 12 + 5 s, a start-up and a heartbeat, within 30 s.
- The supervisor stops when it loses its lease, when the camera no longer wants it, when its settings
  change (the next round starts it again with the new ones) or when the worker shuts down.

While it holds the lease it analyses the stream (sub stream if there is one) through the pipeline
built from the camera's settings, feeds each result to a :class:`~analytics.results.ResultWriter`
(tracks, plate reads, faces, alerts through ``raise_alert``), writes ``MEDIA_ROOT/live/<camera>.jpg``
about once a second (privacy masks already blacked out), records the main stream with
:class:`~workers.recording.Recorder` and registers each closed segment. A stream that delivers no frame
for ``STREAM_OFFLINE_SECONDS`` sets the camera offline and raises ``camera_offline`` once; frames coming
back set it online with ``camera_online``: the same ``record_reachability`` as the health probes.

Lag is how far behind the camera the analysis runs: the age of a frame when its analysis ends, from
the stream's timestamps against the least delay seen since the stream (re)connected.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from celery.signals import worker_shutting_down
from django.conf import settings
from django.db import connections
from django.db.models import Q
from django.utils import timezone

from analytics.pipeline.base import SourceError
from analytics.pipeline.sources.stream import StreamSource
from workers.recording import Recorder, camera_folder, camera_url, register_segment

if TYPE_CHECKING:
    from cameras.models import Camera

logger = logging.getLogger(__name__)

#: Set when the worker process shuts down (``worker_shutting_down``): every supervisor in it stops.
SHUTDOWN = threading.Event()
LIVE_IMAGE_EVERY_S = 1.0
FLUSH_EVERY_S = 2.0
PIPELINE_RETRY_S = 10.0


@worker_shutting_down.connect
def _stop_supervisors(**_kwargs: Any) -> None:
    """A warm shutdown waits for running tasks: supervisors, which never end by themselves, stop now."""
    SHUTDOWN.set()


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# --- the lease --------------------------------------------------------------------------------


def take_lease(camera_id: int, *, holder: str, session: str) -> bool:
    """Take the camera's lease if it is free or expired: one conditional UPDATE, atomic on any backend."""
    from workers.models import StreamLease

    now = timezone.now()
    StreamLease.objects.get_or_create(camera_id=camera_id)  # safe when two workers race: it gets on conflict
    free = Q(session="") | Q(expires_at__isnull=True) | Q(expires_at__lt=now)
    taken = StreamLease.objects.filter(free, camera_id=camera_id).update(
        holder=holder[:200],
        session=session,
        expires_at=now + dt.timedelta(seconds=settings.STREAM_LEASE_SECONDS),
        heartbeat_at=now,
        connected=False,
        error="",
        reconnects=0,
        fps=0,
        lag_s=0,
    )
    return taken == 1


def renew_lease(camera_id: int, *, session: str, health: dict[str, Any]) -> bool:
    """Extend our lease and write the stream's health; ``False``: the lease is no longer ours."""
    from workers.models import StreamLease

    now = timezone.now()
    renewed = StreamLease.objects.filter(camera_id=camera_id, session=session).update(
        expires_at=now + dt.timedelta(seconds=settings.STREAM_LEASE_SECONDS), heartbeat_at=now, **health
    )
    return renewed == 1


def release_lease(camera_id: int, *, session: str, error: str = "") -> None:
    """Give the lease up now (a clean stop), so that the next holder need not wait for it to expire."""
    from workers.models import StreamLease

    StreamLease.objects.filter(camera_id=camera_id, session=session).update(
        holder="", session="", expires_at=None, connected=False, recording=False, fps=0, lag_s=0, error=error[:300]
    )


# --- which cameras want a supervisor --------------------------------------------------------


def wanted_cameras() -> Any:
    """Cameras that should be streamed: analysed live or recorded, with a URL, online or offline."""
    from cameras.models import Camera

    return (
        Camera.objects.filter(status__in=[Camera.Status.ONLINE, Camera.Status.OFFLINE])
        .filter(Q(analysis__live=True) | Q(analysis__record=True))
        .exclude(main_stream_url="")
    )


def cameras_without_supervisor() -> list[int]:
    now = timezone.now()
    held = Q(lease__session__gt="", lease__expires_at__gte=now)
    return list(wanted_cameras().exclude(held).order_by("pk").values_list("pk", flat=True))


def assign_streams(enqueue: Callable[[int], Any]) -> list[int]:
    """Hand every wanted camera without a live lease to ``enqueue`` (a Celery send, or a local thread)."""
    camera_ids = cameras_without_supervisor()
    for camera_id in camera_ids:
        enqueue(camera_id)
    return camera_ids


# --- the supervisor ---------------------------------------------------------------------------


@dataclass
class Plan:
    """What to run for a camera, read once at start; a change of settings restarts the supervisor."""

    camera: Camera
    live: bool
    record: bool
    segment_seconds: int
    settings_version: Any
    analysis_url: str = field(repr=False)
    record_url: str = field(repr=False)
    shown_url: str
    secrets: tuple[str, ...] = field(repr=False)


def load_plan(camera_id: int) -> Plan | None:
    """The camera's plan, or ``None`` when it wants no supervisor. Raises ``SourceError`` for a bad URL."""
    camera = wanted_cameras().select_related("analysis", "ward").filter(pk=camera_id).first()
    if camera is None:
        return None
    analysis = camera.analysis
    secrets = (camera.stream_username, camera.stream_password)
    record_url, shown = camera_url(camera.main_stream_url, *secrets)
    analysis_url = camera_url(camera.sub_stream_url, *secrets)[0] if camera.sub_stream_url else record_url
    return Plan(
        camera=camera,
        live=analysis.live,
        record=analysis.record,
        segment_seconds=analysis.segment_seconds,
        # camera.updated_at also moves with its online/offline status, which must not restart us
        settings_version=(analysis.updated_at, record_url, analysis_url, camera.analysis_fps),
        analysis_url=analysis_url,
        record_url=record_url,
        shown_url=shown,
        secrets=tuple(s for s in secrets if s),
    )


def write_live_image(camera_id: int, image: Any) -> None:
    """``MEDIA_ROOT/live/<camera>.jpg``, replaced atomically so that a reader never gets half a file."""
    from analytics.pipeline.draw import jpeg

    folder = Path(settings.MEDIA_ROOT) / "live"
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{camera_id}.{os.getpid()}.{threading.get_ident()}.tmp"
    temporary.write_bytes(jpeg(image, quality=80))
    os.replace(temporary, folder / f"{camera_id}.jpg")


class StreamSupervisor:
    """Runs one camera while it holds the lease; :meth:`run` returns why it stopped."""

    def __init__(self, camera_id: int, *, holder: str | None = None, stop: threading.Event | None = None) -> None:
        self.camera_id = camera_id
        self.holder = holder or worker_name()
        self.session = uuid.uuid4().hex[:16]
        self.stop = stop or threading.Event()
        self._wake = threading.Event()  # the first frame after a (re)connect: report it without waiting
        self.source: StreamSource | None = None
        self.recorder: Recorder | None = None
        self._thread: threading.Thread | None = None
        self._pipeline_error = ""
        self._pipeline_retry_at = 0.0
        self._lag_s = 0.0
        self._started = time.monotonic()
        self._reported_online: bool | None = None
        self.model = ""

    # -- lifecycle --

    def run(self) -> str:
        try:
            plan = load_plan(self.camera_id)
        except SourceError as exc:
            self._refuse(str(exc))
            return "bad url"
        if plan is None:
            return "not wanted"
        if not take_lease(self.camera_id, holder=self.holder, session=self.session):
            return "busy"
        logger.info("stream %s: supervising %s (session %s)", self.camera_id, plan.shown_url, self.session)
        reason = "stopped"
        try:
            if plan.record:
                self.recorder = Recorder(
                    plan.record_url,
                    Path(settings.MEDIA_ROOT) / camera_folder(self.camera_id),
                    segment_seconds=plan.segment_seconds,
                    tag=self.session[:8],
                    secrets=plan.secrets,
                    backoff_max_s=settings.STREAM_BACKOFF_MAX_SECONDS,
                )
            reason = self._supervise(plan)
        finally:
            self._shutdown(plan)
        logger.info("stream %s: %s", self.camera_id, reason)
        return reason

    def _refuse(self, message: str) -> None:
        """A URL the rules refuse: say so on the lease row (the camera's health) and run nothing."""
        from workers.models import StreamLease

        StreamLease.objects.update_or_create(camera_id=self.camera_id, defaults={"error": message[:300], "connected": False})
        logger.warning("stream %s: refused: %s", self.camera_id, message)

    def _supervise(self, plan: Plan) -> str:
        beat = settings.STREAM_HEARTBEAT_SECONDS
        while True:
            if SHUTDOWN.is_set() or self.stop.is_set():
                return "stopped"
            idle = self._thread is None or not self._thread.is_alive()
            if plan.live and idle and time.monotonic() >= self._pipeline_retry_at:
                self._start_pipeline(plan)
            if self.recorder is not None:
                for segment in self.recorder.poll():
                    register_segment(camera=plan.camera, segment=segment)
            if not renew_lease(self.camera_id, session=self.session, health=self.health(plan)):
                return "lost lease"
            self._report_availability(plan)
            now_plan = load_plan(self.camera_id)
            if now_plan is None:
                return "not wanted"
            if now_plan.settings_version != plan.settings_version:
                return "reconfigured"
            if self._wake.wait(beat):
                self._wake.clear()

    def _shutdown(self, plan: Plan) -> None:
        self.stop.set()
        if self.source is not None:
            self.source.close()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self.recorder is not None:
            for segment in self.recorder.stop():
                register_segment(camera=plan.camera, segment=segment)
        release_lease(self.camera_id, session=self.session)

    # -- analysis, in its own thread: the source blocks while the camera is away --

    def _start_pipeline(self, plan: Plan) -> None:
        self.source = StreamSource(
            plan.analysis_url,
            plan.camera.analysis_fps,
            backoff_max_s=settings.STREAM_BACKOFF_MAX_SECONDS,
            sleep=self.stop.wait,  # a stop wakes a source waiting to reconnect
        )
        self._thread = threading.Thread(
            target=self._analyse, args=(plan, self.source), name=f"stream-{self.camera_id}", daemon=True
        )
        self._thread.start()

    def _analyse(self, plan: Plan, source: StreamSource) -> None:
        from analytics.results import ResultWriter
        from analytics.vision import build_pipeline, pipeline_config

        try:
            config = pipeline_config(plan.camera.analysis, camera=plan.camera)
            pipeline = build_pipeline(config, source)
            self.model = pipeline.detector.name
            writer = ResultWriter(
                ward_id=plan.camera.ward_id,
                source=f"live:{self.camera_id}:{self.session}",
                origin=timezone.now(),  # the source's timestamps count from its start, i.e. now
                config=config,
                model=self.model,
                camera=plan.camera,
            )
            last_image = last_flush = 0.0
            stream = pipeline.stream()
            try:
                reconnects = -1
                for result in stream:
                    writer.add(result)
                    now = time.monotonic()
                    if source.health().reconnects != reconnects:
                        reconnects = source.health().reconnects
                        self._wake.set()
                    if source.taken_at is not None:
                        self._lag_s = max(0.0, now - source.taken_at)
                    if now - last_image >= LIVE_IMAGE_EVERY_S:
                        write_live_image(self.camera_id, result.frame.image)
                        last_image = now
                    if now - last_flush >= FLUSH_EVERY_S:
                        writer.flush()
                        last_flush = now
                    if self.stop.is_set():
                        break
            finally:
                getattr(stream, "close", lambda: None)()  # a generator: the pipeline's clean-up runs now
                source.close()
            writer.flush(final=True)
            self._pipeline_error = ""
        except Exception as exc:  # noqa: BLE001 - reported on the lease and retried; the recorder runs on
            self._pipeline_error = str(getattr(exc, "messages", None) or exc)[:300]
            logger.exception("stream %s: analysis stopped", self.camera_id)
            self._pipeline_retry_at = time.monotonic() + PIPELINE_RETRY_S
        finally:
            connections.close_all()  # this thread's connections only

    # -- health --

    def health(self, plan: Plan) -> dict[str, Any]:
        values: dict[str, Any] = {"recording": bool(self.recorder and self.recorder.writing)}
        errors = [self._pipeline_error]
        if plan.live and self.source is not None:
            h = self.source.health()
            values.update(
                connected=h.connected,
                fps=round(h.fps, 2),
                reconnects=h.reconnects,
                lag_s=round(self._lag_s, 2) if h.connected else 0,
            )
            if h.last_frame_at:
                values["last_frame_at"] = dt.datetime.fromtimestamp(h.last_frame_at, tz=dt.UTC)
            errors.append(h.error or "")
        elif not plan.live:
            values["connected"] = values["recording"]
        if self.recorder is not None:
            errors.append(self.recorder.error if not self.recorder.writing else "")
        values["error"] = "; ".join(e for e in errors if e)[:300]
        return values

    def _flowing(self, plan: Plan) -> bool | None:
        """True: the camera delivers; False: silent for ``STREAM_OFFLINE_SECONDS``; None: too early to say."""
        quiet = settings.STREAM_OFFLINE_SECONDS
        if plan.live and self.source is not None:
            last = self.source.health().last_frame_at
            if last is not None and time.time() - last < quiet:
                return True
            silent_since = last if last is not None else time.time() - (time.monotonic() - self._started)
            return False if time.time() - silent_since >= quiet else None
        if self.recorder is not None:
            if self.recorder.writing:
                return True
            return False if time.monotonic() - self._started >= quiet else None
        return None

    def _report_availability(self, plan: Plan) -> None:
        from cameras.services import record_reachability

        flowing = self._flowing(plan)
        if flowing is None or flowing == self._reported_online:
            return
        outcome = record_reachability(camera_id=self.camera_id, reachable=flowing)
        logger.info("stream %s: %s (%s)", self.camera_id, "online" if flowing else "offline", outcome)
        self._reported_online = flowing
