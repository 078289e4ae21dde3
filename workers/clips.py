"""The clip job: analyse one uploaded video and write what it finds (``analytics.analyse_clip``).

A job is claimed in one transaction (queued → running, ``attempts`` + 1) with a lease in its
``worker`` (node:pid) and ``heartbeat_at`` fields, renewed with every progress write (about once a second). The
same write reads ``cancel_requested``: a cancelled job stops there and keeps what it found so far
(flushed rows stay, the summary says ``partial``). Results are flushed every ``CLIP_FLUSH_SECONDS``
through :class:`~analytics.results.ResultWriter`, whose rows are keyed per job, so a job run again
after its worker died overwrites the first attempt's rows instead of adding to them.

A worker that dies mid-job takes the broker message with it on the filesystem broker (and Redis only
gives it back after its visibility timeout), so recovery does not wait for a re-delivery: when a
worker starts, and every minute under beat (``analytics.recover_clip_jobs``), running jobs whose
worker is gone (same node, dead pid) or silent for ``CLIP_STALE_SECONDS`` are queued again. A
re-delivered message for a finished job, or for one another live worker runs, does nothing.

Bad input never kills the worker: the file is checked (:func:`analytics.clipjobs.probe`) before any
frame is decoded, a :class:`SourceError` fails the job with its code, and any other exception fails
it with a generic message (logged with its traceback).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from pathlib import Path
from typing import Any

from celery import Task, shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from analytics.clipjobs import ClipProblem, probe
from analytics.models import AnalysisSettings, ClipJob, PlateRead
from analytics.pipeline.base import SourceError
from workers.tasks import MatthanTask

log = logging.getLogger(__name__)

DEFAULT_FPS = 5.0


def _setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def worker_id(node: str | None = None) -> str:
    """Who holds a job: the Celery node (or this host) and the process id."""
    return f"{node or 'local@' + socket.gethostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def orphaned(job: ClipJob, node: str | None = None, now: float | None = None) -> bool:
    """Whether a running job's worker is gone: silent too long, or a dead process of ``node``."""
    holder, beat = job.worker, job.heartbeat_at
    now = time.time() if now is None else now
    if beat is None or now - beat.timestamp() > _setting("CLIP_STALE_SECONDS", 60):
        return True
    held_node, _, pid = holder.rpartition(":")
    return node is not None and held_node == node and pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid))


# --- the task --------------------------------------------------------------------------------


@shared_task(base=MatthanTask, bind=True, name="analytics.analyse_clip")
def analyse_clip(self: Task, job_id: int) -> str:
    """Analyse clip job ``job_id`` to its end; returns the job's final status (or why nothing was done)."""
    return run_job(job_id, node=getattr(self.request, "hostname", None))


@shared_task(base=MatthanTask, bind=True, name="analytics.recover_clip_jobs")
def recover_clip_jobs(self: Task) -> int:
    """Queue again the running jobs whose worker is gone (scheduled every minute under beat)."""
    return requeue_orphans(node=getattr(self.request, "hostname", None))


@worker_ready.connect
def _recover_on_start(sender: Any = None, **kwargs: Any) -> None:
    # This node just started: none of its processes can still be running a job it held.
    try:
        count = requeue_orphans(node=getattr(sender, "hostname", None))
    except Exception:  # a worker must start even when the database is briefly away
        log.exception("clip job recovery failed")
        return
    if count:
        log.warning("queued again %s clip job(s) left running by a dead worker", count)


def requeue_orphans(node: str | None = None) -> int:
    ids: list[int] = []
    with transaction.atomic():
        for job in ClipJob.objects.select_for_update().filter(status=ClipJob.Status.RUNNING):
            if orphaned(job, node):
                job.status = ClipJob.Status.QUEUED
                job.save(update_fields=["status"])
                ids.append(job.pk)
    for pk in ids:
        analyse_clip.delay(pk)
    return len(ids)


def _claim(job_id: int, node: str | None) -> ClipJob | None:
    """Take the job if it is ours to run: queued, or running for a worker that is gone."""
    with transaction.atomic():
        job = ClipJob.objects.select_for_update(of=("self",)).select_related("camera", "camera__ward").filter(pk=job_id).first()
        if job is None or job.finished:
            return None
        if job.status == ClipJob.Status.RUNNING and not orphaned(job, node):
            return None  # a re-delivered message while a live worker runs it
        if job.cancel_requested:
            job.status, job.finished_at = ClipJob.Status.CANCELLED, timezone.now()
            job.save(update_fields=["status", "finished_at"])
            return None
        job.status = ClipJob.Status.RUNNING
        job.attempts += 1
        job.progress = 0
        job.error = job.error_code = ""
        job.started_at = job.started_at or timezone.now()
        job.summary = {}
        job.worker, job.heartbeat_at = worker_id(node), timezone.now()
        job.save(
            update_fields=[
                "status",
                "attempts",
                "progress",
                "error",
                "error_code",
                "started_at",
                "summary",
                "worker",
                "heartbeat_at",
            ]
        )
        return job


def _finish(job: ClipJob, status: str, **fields: Any) -> None:
    """Record the outcome, unless the job was taken over meanwhile (then the other run records it)."""
    with transaction.atomic():
        holder = ClipJob.objects.select_for_update().filter(pk=job.pk).values_list("worker", flat=True).first()
        if holder not in (None, "", job.worker):
            return
        ClipJob.objects.filter(pk=job.pk).update(status=status, finished_at=timezone.now(), **fields)


def run_job(job_id: int, *, node: str | None = None, fps: float | None = None, detectors: list[str] | None = None) -> str:
    """Claim and run the job; ``fps``/``detectors`` override the camera's settings (``analyze_clip``)."""
    job = _claim(job_id, node)
    if job is None:
        return "skipped"
    try:
        return _analyse(job, fps=fps, detectors=detectors)
    except ClipProblem as exc:
        log.info("clip job %s refused: %s (%s)", job.pk, exc.code, exc)
        _finish(
            job, ClipJob.Status.FAILED, error_code=exc.code, error=str(exc)[:1000], summary=_failed(job, exc.code, exc.params)
        )
        return ClipJob.Status.FAILED
    except SourceError as exc:
        log.info("clip job %s refused: %s (%s)", job.pk, exc.code, exc)
        _finish(job, ClipJob.Status.FAILED, error_code=exc.code, error=str(exc)[:1000], summary=_failed(job, exc.code, {}))
        return ClipJob.Status.FAILED
    except ValidationError as exc:
        detail = "; ".join(exc.messages)
        _finish(
            job,
            ClipJob.Status.FAILED,
            error_code="settings",
            error=detail[:1000],
            summary=_failed(job, "settings", {"detail": detail}),
        )
        return ClipJob.Status.FAILED
    except Exception as exc:  # the worker lives on; the traceback goes to the log, not to the user
        log.exception("clip job %s failed", job.pk)
        _finish(
            job,
            ClipJob.Status.FAILED,
            error_code="internal",
            error=f"{type(exc).__name__}: {exc}"[:1000],
            summary=_failed(job, "internal", {}),
        )
        return ClipJob.Status.FAILED


def _failed(job: ClipJob, code: str, params: dict[str, Any]) -> dict[str, Any]:
    return {**job.summary, "error": {"code": code, "params": params}}


class _Progress:
    """Progress %, lease heartbeat and the cancel check, written at most every ``CLIP_PROGRESS_SECONDS``."""

    def __init__(self, job: ClipJob, total_frames: int) -> None:
        self.job = job
        self.total = max(1, total_frames)
        self.every = _setting("CLIP_PROGRESS_SECONDS", 1.0)
        self.last = time.monotonic()
        self.stop_reason = ""

    def due(self) -> bool:
        return time.monotonic() - self.last >= self.every

    def beat(self, frames_read: int, partial: dict[str, Any]) -> bool:
        """Write progress; False when the job must stop (cancelled, or taken over by another worker)."""
        self.last = time.monotonic()
        percent = min(99, int(100 * frames_read / self.total))
        summary = {**self.job.summary, **partial}
        with transaction.atomic():
            row = (
                ClipJob.objects.select_for_update().filter(pk=self.job.pk).values("cancel_requested", "worker", "status").first()
            )
            if row is None:
                self.stop_reason = "deleted"
                return False
            if row["status"] != ClipJob.Status.RUNNING or row["worker"] != self.job.worker:
                self.stop_reason = "lost"
                return False
            ClipJob.objects.filter(pk=self.job.pk).update(progress=percent, summary=summary, heartbeat_at=timezone.now())
        self.job.summary = summary
        if row["cancel_requested"]:
            self.stop_reason = "cancelled"
            return False
        return True


def _analyse(job: ClipJob, *, fps: float | None = None, detectors: list[str] | None = None) -> str:
    from analytics.pipeline.sources.file import FileSource
    from analytics.results import ResultWriter
    from analytics.vision import build_pipeline, pipeline_config

    path = Path(job.file.path)
    probe(path)
    analysis = AnalysisSettings.objects.filter(camera=job.camera).first() if job.camera_id else None
    fps = fps or (job.camera.analysis_fps if job.camera is not None else DEFAULT_FPS)
    config = pipeline_config(analysis, camera=job.camera, fps=fps, data={"detectors": detectors} if detectors else None)
    source = FileSource(path, config.analysis_fps)
    if not (source.width and source.height):
        raise ClipProblem("resolution", {"width": source.width, "height": source.height})
    pipeline = build_pipeline(config, source)
    model = pipeline.detector.name
    ClipJob.objects.filter(pk=job.pk).update(model=model[:200])
    writer = ResultWriter(
        ward_id=job.ward_id,
        source=f"job:{job.pk}",
        origin=job.recorded_at,
        config=config,
        model=model,
        camera=job.camera,
        job=job,
    )
    progress = _Progress(job, source.declared_frames)
    flush_every = _setting("CLIP_FLUSH_SECONDS", 5.0)
    last_flush = time.monotonic()
    stream = pipeline.stream()
    try:
        for result in stream:
            writer.add(result)
            if time.monotonic() - last_flush >= flush_every:
                writer.flush()
                last_flush = time.monotonic()
            if progress.due():
                s = pipeline.summary
                live = {
                    "frames_read": source.health().frames_read,
                    "frames_analysed": s.frames_analysed,
                    "tracks": len(s.track_classes),
                }
                if not progress.beat(live["frames_read"], live):
                    break
    finally:
        getattr(stream, "close", lambda: None)()  # a generator: runs the pipeline's own clean-up now
        source.close()
    if progress.stop_reason in ("lost", "deleted"):
        log.warning("clip job %s: %s while running; this attempt stops", job.pk, progress.stop_reason)
        return "skipped"
    writer.flush(final=True)
    summary = _summary(job, pipeline.summary.as_dict(), writer, source)
    if progress.stop_reason == "cancelled":
        summary["partial"] = True
        _finish(job, ClipJob.Status.CANCELLED, summary=summary, model=model[:200])
        return ClipJob.Status.CANCELLED
    _finish(job, ClipJob.Status.DONE, progress=100, summary=summary, model=model[:200])
    return ClipJob.Status.DONE


def _summary(job: ClipJob, base: dict[str, Any], writer: Any, source: Any) -> dict[str, Any]:
    frames = []
    folder = f"clips/{job.ward_id}/{job.token}"
    for i, key in enumerate(writer.key_frames):
        # A fixed name per job and position: a retried job replaces its pictures.
        name = f"{folder}/frame-{i:02d}.jpg"
        if default_storage.exists(name):
            default_storage.delete(name)
        saved = default_storage.save(name, ContentFile(key.image))
        frames.append({"path": saved, "t": round(key.timestamp, 2), "frame": key.frame_index, "tracks": key.tracks})
    return {
        **base,
        "width": source.width,
        "height": source.height,
        "native_fps": round(source.native_fps, 3),
        "duration_s": round(source.duration_s, 3),
        "declared_frames": source.declared_frames,
        "timeline": writer.timeline(),
        "key_frames": frames,
        "plate_reads": PlateRead.objects.filter(job=job).count(),
    }
