"""Writes for alerts: raise (with grouping of floods), acknowledge, assign, note, escalate, dismiss.

Each writes the alert, an ``AlertEvent`` and an audit entry in one transaction, then, after commit,
hands the event to ``analytics.live.publish`` (browsers) and to the outbound senders (webhooks, MQTT).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics.models import ALERT_ROLES, DEFAULT_SEVERITY, Alert, AlertEvent, AlertType
from cameras.models import Camera
from portal.models import Membership, Ward
from portal.services import audit, client_ip

MAX_NOTE = 2000


def _after_commit(event: AlertEvent) -> None:
    from analytics.live import publish
    from analytics.outbound import dispatch

    event_id = event.pk
    transaction.on_commit(lambda: publish(event_id))
    # Browsers first; then webhooks and MQTT (queued tasks). robust: the alert is committed whatever happens here.
    transaction.on_commit(lambda: dispatch(event_id), robust=True)


def _event(alert: Alert, kind: str, *, actor: Any = None, note: str = "") -> AlertEvent:
    user = actor if getattr(actor, "is_authenticated", False) else None
    event = AlertEvent.objects.create(ward_id=alert.ward_id, alert=alert, kind=kind, actor=user, note=note, at=timezone.now())
    _after_commit(event)
    return event


def _check_note(note: str) -> str:
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ValidationError(
            {"note": [_("The note is %(n)d characters; keep it under %(max)d.") % {"n": len(note), "max": MAX_NOTE}]}
        )
    return note


@transaction.atomic
def raise_alert(
    *,
    camera: Camera | None,
    type: str,
    severity: int | None = None,
    note: str = "",
    snapshot: Any = None,
    actor: Any = None,
    at: dt.datetime | None = None,
    request: Any = None,
    details: dict[str, Any] | None = None,
    ward: Ward | int | None = None,
    group_by: dict[str, Any] | None = None,
    details_on_repeat: dict[str, Any] | None = None,
) -> tuple[Alert, AlertEvent]:
    """Save an alert (or add a hit to the same open alert of the last ``ALERT_GROUP_SECONDS``) and push it.

    Hits are grouped per camera and type; ``group_by`` (keys of ``details``) groups per ward, type and
    those details instead (a watchlist hit: per entry, whichever camera saw it). ``camera`` may be
    ``None`` only with ``ward``: an alert in a ward whose own camera did not see it (the sighting is
    then described in ``details``). On a repeat, ``details_on_repeat`` is merged into the open alert's
    details (e.g. where it was seen last).
    """
    ward_id = ward.pk if isinstance(ward, Ward) else ward
    if camera is not None:
        if ward_id is not None and ward_id != camera.ward_id:
            raise ValidationError({"camera": [_("The camera is not in this ward.")]})
        ward_id = camera.ward_id
    elif ward_id is None:
        raise ValidationError({"camera": [_("Say which camera saw it.")]})
    if type not in AlertType.values:
        raise ValidationError(
            {
                "type": [
                    _("Unknown alert type “%(type)s”; use one of %(types)s.")
                    % {"type": type, "types": ", ".join(AlertType.values)}
                ]
            }
        )
    note = _check_note(note)
    now = at or timezone.now()
    window = dt.timedelta(seconds=settings.ALERT_GROUP_SECONDS)
    same: dict[str, Any] = (
        {"ward_id": ward_id, **{f"details__{key}": value for key, value in group_by.items()}}
        if group_by
        else {"camera": camera}
        if camera is not None
        else {"ward_id": ward_id, "camera__isnull": True}
    )
    open_alert = (
        Alert.objects.select_for_update(of=("self",))
        .filter(
            **same,
            type=type,
            status__in=[Alert.Status.NEW, Alert.Status.ACKNOWLEDGED],
            last_seen_at__gte=now - window,
        )
        .order_by("-last_seen_at")
        .first()
    )
    if open_alert is not None and type != AlertType.MANUAL:
        open_alert.count += 1
        open_alert.last_seen_at = max(open_alert.last_seen_at, now)
        fields = ["count", "last_seen_at"]
        if details_on_repeat:
            open_alert.details = {**open_alert.details, **details_on_repeat}
            fields.append("details")
        open_alert.save(update_fields=fields)
        return open_alert, _event(open_alert, AlertEvent.Kind.GROUPED, actor=actor)
    user = actor if getattr(actor, "is_authenticated", False) else None
    alert = Alert(
        ward_id=ward_id,
        camera=camera,
        type=type,
        severity=severity or DEFAULT_SEVERITY[AlertType(type)],
        note=note,
        raised_at=now,
        last_seen_at=now,
        raised_by=user,
        details=details or {},
    )
    if snapshot is not None:
        alert.snapshot = snapshot
    alert.full_clean(exclude=["snapshot"])
    alert.save()
    event = _event(alert, AlertEvent.Kind.RAISED, actor=actor, note=note)
    if user is not None:
        audit(action="alert_raised", actor=user, ward=alert.ward_id, obj=alert, ip=client_ip(request))
    return alert, event


def _handle(alert: Alert, kind: str, *, actor: Any, note: str = "", request: Any = None) -> AlertEvent:
    event = _event(alert, kind, actor=actor, note=note)
    audit(action=f"alert_{kind}", actor=actor, ward=alert.ward_id, obj=alert, reason=note, ip=client_ip(request))
    return event


def _lock(alert: Alert) -> Alert:
    return Alert.objects.select_for_update().get(pk=alert.pk)


def _refuse_if_closed(alert: Alert) -> None:
    if alert.status in (Alert.Status.ESCALATED, Alert.Status.DISMISSED):
        raise ValidationError(
            {"status": [_("This alert is already %(status)s.") % {"status": alert.get_status_display().lower()}]}
        )


@transaction.atomic
def acknowledge(*, alert: Alert, actor: Any, request: Any = None) -> Alert:
    alert = _lock(alert)
    _refuse_if_closed(alert)
    if alert.status == Alert.Status.NEW:
        alert.status = Alert.Status.ACKNOWLEDGED
        alert.handled_by, alert.handled_at = actor, timezone.now()
        alert.save(update_fields=["status", "handled_by", "handled_at"])
        _handle(alert, AlertEvent.Kind.ACKNOWLEDGED, actor=actor, request=request)
    return alert


@transaction.atomic
def assign(*, alert: Alert, actor: Any, assignee: Any, request: Any = None) -> Alert:
    alert = _lock(alert)
    _refuse_if_closed(alert)
    if not Membership.objects.filter(user=assignee, ward_id=alert.ward_id, role__in=ALERT_ROLES).exists():
        raise ValidationError({"assignee": [_("Assign to an officer of this ward (operator, investigator or admin).")]})
    alert.assigned_to = assignee
    if alert.status == Alert.Status.NEW:
        alert.status = Alert.Status.ACKNOWLEDGED
        alert.handled_by, alert.handled_at = actor, timezone.now()
    alert.save(update_fields=["assigned_to", "status", "handled_by", "handled_at"])
    _handle(alert, AlertEvent.Kind.ASSIGNED, actor=actor, note=assignee.get_username(), request=request)
    return alert


@transaction.atomic
def add_note(*, alert: Alert, actor: Any, note: str, request: Any = None) -> Alert:
    note = _check_note(note)
    if not note:
        raise ValidationError({"note": [_("Write the note.")]})
    alert = _lock(alert)
    _handle(alert, AlertEvent.Kind.NOTED, actor=actor, note=note, request=request)
    return alert


@transaction.atomic
def escalate(*, alert: Alert, actor: Any, note: str = "", request: Any = None) -> Alert:
    """Open a draft incident holding the alert, its camera and time (the case file starts here)."""
    from incidents.models import Incident

    note = _check_note(note)
    alert = _lock(alert)
    _refuse_if_closed(alert)
    incident = Incident.objects.create(
        ward_id=alert.ward_id,
        title=f"{alert.get_type_display()} · {alert_place(alert)}",
        type=Incident.Type.ENCROACHMENT if alert.type == AlertType.ENCROACHMENT else Incident.Type.OTHER,
        narrative=note or alert.note,
        camera=alert.camera,
        # The camera's position stands for the place until the investigator sets the real one.
        location=alert.camera.location if alert.camera is not None else None,
        occurred_at=alert.raised_at,
        created_by=actor,
    )
    if alert.camera is not None:
        incident.cameras.add(alert.camera)
    alert.status = Alert.Status.ESCALATED
    alert.incident = incident
    alert.handled_by, alert.handled_at = actor, timezone.now()
    alert.save(update_fields=["status", "incident", "handled_by", "handled_at"])
    _handle(alert, AlertEvent.Kind.ESCALATED, actor=actor, note=note, request=request)
    audit(action="incident_created", actor=actor, ward=alert.ward_id, obj=incident, ip=client_ip(request))
    return alert


@transaction.atomic
def dismiss(*, alert: Alert, actor: Any, reason: str, request: Any = None) -> Alert:
    reason = _check_note(reason)
    if not reason:
        raise ValidationError({"reason": [_("Say why this is a false alarm.")]})
    alert = _lock(alert)
    _refuse_if_closed(alert)
    alert.status = Alert.Status.DISMISSED
    alert.dismiss_reason = reason
    alert.handled_by, alert.handled_at = actor, timezone.now()
    alert.save(update_fields=["status", "dismiss_reason", "handled_by", "handled_at"])
    _handle(alert, AlertEvent.Kind.DISMISSED, actor=actor, note=reason, request=request)
    return alert


def alert_place(alert: Alert) -> str:
    """Where it was seen: the camera's code, or, for a hit seen by another ward's camera, that camera
    as the alert's details describe it."""
    if alert.camera is not None:
        return alert.camera.code
    seen: Any = (alert.details or {}).get("sighting") or {}
    camera: Any = seen.get("camera") or {}
    ward: Any = seen.get("ward") or {}
    parts = [str(p) for p in (ward.get("name"), camera.get("code")) if p]
    return " · ".join(parts) or _("no camera")


def officers_of(ward_id: int) -> Any:
    return get_user_model().objects.filter(memberships__ward_id=ward_id, memberships__role__in=ALERT_ROLES).order_by("username")
