"""Getting alert events to browsers: one message shape, two ways of delivery.

- With Redis (``REDIS_URL``), the process that commits an event sends it to the ward's group on the
  Redis channel layer, so every web process's sockets receive it.
- Embedded (in-memory channel layer, which cannot reach across processes: the worker's alerts would
  be lost), each web process runs one ``EventRelay`` that reads new events from the database, the
  durable log, and sends them to its own in-memory groups. Publishing from other processes then
  needs nothing at all.

Either way the consumer drops events it has already sent (by event id), so replay after a reconnect
and live delivery never duplicate.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.urls import reverse

from analytics.models import Alert, AlertEvent

logger = logging.getLogger(__name__)


def group_name(ward_id: int) -> str:
    return f"alerts.ward.{ward_id}"


def uses_relay() -> bool:
    return not settings.REDIS_URL


def event_payload(event: AlertEvent) -> dict[str, Any]:
    """What a browser receives for one event (the same in replay and live)."""
    alert = event.alert
    return {
        "type": "alert",
        "event_id": event.pk,
        "event": event.kind,
        "event_note": event.note,
        "actor": event.actor.get_username() if event.actor else None,
        "at": event.at.isoformat(),
        "alert": {
            "id": alert.pk,
            "ward": alert.ward_id,
            "type": alert.type,
            "type_label": str(alert.get_type_display()),
            "severity": alert.severity,
            "severity_label": str(alert.get_severity_display()),
            "status": alert.status,
            "status_label": str(alert.get_status_display()),
            "note": alert.note,
            "count": alert.count,
            "raised_at": alert.raised_at.isoformat(),
            "last_seen_at": alert.last_seen_at.isoformat(),
            "assigned_to": alert.assigned_to.get_username() if alert.assigned_to else None,
            "incident": alert.incident_id,
            "snapshot": reverse("alert-snapshot", args=[alert.pk]) if alert.snapshot else None,
            "camera": camera_payload(alert),
        },
    }


def camera_payload(alert: Alert) -> dict[str, Any]:
    """The alert's camera; for an alert seen by another ward's camera (a watchlist hit in a covered
    ward) ``id`` is null and the rest describes that camera from the alert's details."""
    camera = alert.camera
    if camera is not None:
        return {"id": camera.pk, "code": camera.code, "name": camera.name, "location": [camera.location.x, camera.location.y]}
    seen: Any = (alert.details or {}).get("sighting") or {}
    other: Any = seen.get("camera") or {}
    ward: Any = seen.get("ward") or {}
    return {
        "id": None,
        "code": other.get("code", ""),
        "name": " · ".join(str(p) for p in (ward.get("name"), other.get("name")) if p),
        "location": other.get("location"),
    }


def events_after(ward_ids: list[int], after: int, limit: int = 500) -> list[dict[str, Any]]:
    events = (
        AlertEvent.objects.filter(ward_id__in=ward_ids, id__gt=after)
        .select_related("alert__camera", "alert__assigned_to", "actor")
        .order_by("id")[:limit]
    )
    return [event_payload(e) for e in events]


def publish(event_id: int) -> None:
    """After commit: push the event to its ward's sockets (Redis mode; the relay does it embedded)."""
    if uses_relay():
        return
    event = AlertEvent.objects.select_related("alert__camera", "alert__assigned_to", "actor").filter(pk=event_id).first()
    if event is None:
        return
    layer = get_channel_layer()
    try:
        async_to_sync(layer.group_send)(group_name(event.ward_id), {"type": "alert.event", "payload": event_payload(event)})
    except Exception as exc:  # the event is stored; a reconnecting client replays it
        logger.warning("alert event %s stored but not pushed: %s", event_id, exc)


class EventRelay:
    """Embedded mode: poll the event log and feed this process's in-memory groups."""

    interval = 0.2
    gap_wait = 2.0

    def __init__(self) -> None:
        self.last_id: int | None = None
        self.task: asyncio.Task[None] | None = None

    async def ensure_running(self) -> None:
        """Start relaying (once per event loop); returns when events from now on will be relayed."""
        loop = asyncio.get_running_loop()
        if self.task is None or self.task.done() or self.task.get_loop() is not loop:
            if self.last_id is None:
                self.last_id = await sync_to_async(_max_event_id)()
            self.task = loop.create_task(self.run())

    async def run(self) -> None:
        layer = get_channel_layer()
        assert self.last_id is not None
        while True:
            try:
                batch = await sync_to_async(_events_since)(self.last_id)
                now = time.time()
                for ward_id, payload, created in batch:
                    # An id allocated by a transaction that has not committed yet leaves a gap for a
                    # moment; wait for it rather than skip it (a rolled-back id is skipped after GAP_WAIT).
                    if payload["event_id"] != self.last_id + 1 and now - created < self.gap_wait:
                        break
                    await layer.group_send(group_name(ward_id), {"type": "alert.event", "payload": payload})
                    self.last_id = payload["event_id"]
            except Exception:  # keep relaying: a locked database or a bad row must not stop alerts
                logger.exception("alert relay failed; retrying")
            await asyncio.sleep(self.interval)


def _max_event_id() -> int:
    last = AlertEvent.objects.order_by("-id").values_list("id", flat=True).first()
    return last or 0


def _events_since(last_id: int) -> list[tuple[int, dict[str, Any], float]]:
    events = (
        AlertEvent.objects.filter(id__gt=last_id)
        .select_related("alert__camera", "alert__assigned_to", "actor")
        .order_by("id")[:500]
    )
    return [(e.ward_id, event_payload(e), e.at.timestamp()) for e in events]


relay = EventRelay()
