"""Celery tasks. One base class gives every task logging, retries with backoff and acks-late.

Tasks take ids, never objects, and are safe to run twice: each checks the state of the row it owns
before working, and records its outcome in that row in the same transaction as its effects.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task

logger = logging.getLogger(__name__)


class MatthanTask(Task):
    """Base of every task: ids in, idempotent, retried with exponential backoff."""

    autoretry_for = (ConnectionError, TimeoutError)
    retry_backoff = True
    retry_backoff_max = 300
    retry_jitter = True
    max_retries = 5
    acks_late = True

    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        logger.error("task %s[%s] failed: %s", self.name, task_id, exc)


@shared_task(base=MatthanTask, name="cameras.run_import")
def run_camera_import(import_id: int) -> str:
    from cameras.services import run_import

    return run_import(import_id=import_id)


@shared_task(base=MatthanTask, name="cameras.check_health")
def check_camera_health(camera_id: int) -> str:
    """Probe one camera's main stream and record the result (idempotent: only a change writes)."""
    from cameras.health import probe
    from cameras.models import Camera
    from cameras.services import record_reachability

    url = Camera.objects.filter(pk=camera_id).values_list("main_stream_url", flat=True).first()
    if not url:
        return "no stream"
    return record_reachability(camera_id=camera_id, reachable=probe(url))


@shared_task(base=MatthanTask, name="cameras.check_all")
def check_all_cameras() -> int:
    """Queue a probe for every camera meant to be running (scheduled by Celery beat)."""
    from cameras.models import Camera

    ids = list(
        Camera.objects.filter(status__in=[Camera.Status.ONLINE, Camera.Status.OFFLINE])
        .exclude(main_stream_url="")
        .values_list("id", flat=True)
    )
    for camera_id in ids:
        check_camera_health.delay(camera_id)
    return len(ids)


@shared_task(base=MatthanTask, bind=True, name="analytics.deliver_webhook")
def deliver_webhook(self: Task, delivery_id: int) -> str:
    """POST one webhook delivery; a failure is recorded in its row and retried after 2, 4, 8... s.

    Idempotent: a delivered or failed row is skipped. After ``WEBHOOK_MAX_ATTEMPTS`` it is failed.
    """
    from django.conf import settings

    from analytics.outbound import attempt_delivery

    attempt = attempt_delivery(delivery_id)
    if attempt.retry_in is not None:
        raise self.retry(countdown=attempt.retry_in, max_retries=settings.WEBHOOK_MAX_ATTEMPTS)
    return attempt.status


@shared_task(base=MatthanTask, name="analytics.publish_mqtt")
def publish_mqtt(event_id: int) -> str:
    """Publish one alert event to the MQTT broker (``MQTT_URL``); an unreachable broker is retried."""
    from analytics.outbound import publish_event_mqtt

    return publish_event_mqtt(event_id)


@shared_task(base=MatthanTask, name="streams.assign")
def assign_streams() -> int:
    """Send every camera that wants a supervisor and has no live lease to the ``streams`` queue (beat)."""
    from django.conf import settings

    from workers.streams import assign_streams as assign

    # A message no worker takes within two rounds is dropped: the next round sends a fresh one.
    expires = 2 * settings.STREAM_ASSIGN_SECONDS
    return len(assign(lambda camera_id: run_stream.apply_async((camera_id,), expires=expires)))


# Acked on receipt: the lease, not the broker, brings a dead worker's camera back (within 30 s; a
# message redelivered an hour later would only find the camera taken).
@shared_task(base=MatthanTask, name="streams.run", acks_late=False)
def run_stream(camera_id: int) -> str:
    """Supervise one camera's stream for as long as this worker holds its lease (a long-running task)."""
    from workers.streams import StreamSupervisor

    return StreamSupervisor(camera_id).run()


@shared_task(base=MatthanTask, name="recordings.retention")
def apply_retention() -> dict[str, int]:
    """Delete recordings past their camera's retention (and beyond the disk budget), never evidence."""
    from workers.recording import apply_retention as apply

    return apply().as_dict()


@shared_task(base=MatthanTask, name="analytics.plate_retention")
def apply_plate_retention() -> dict[str, int]:
    """Delete plate reads past their ward's retention, never one linked to a case."""
    from analytics.plates.store import apply_retention as apply

    return apply()


# Tasks that live in their own modules register with Celery when this module is autodiscovered.
from workers import clips as _clips  # noqa: E402, F401
from workers import streams as _streams  # noqa: E402, F401
