"""Writes of case files, evidence and custody. Keyword-only, atomic, audited (STYLE.md §3).

Case numbers are ``{ward.code}-{year}-{seq:04d}``, counted per ward and year (the local year the case
is opened) in ``CaseCounter`` rows locked while a number is taken. The status workflow is
``draft → open → investigating → closed | referred``; a closed case may be reopened (back to
investigating); closing or referring needs a note. Evidence is added only to cases that are not
finished. Every look at evidence (view, download, export) goes through :func:`record_custody`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cameras.models import Camera, RecordingSegment
from incidents import media
from incidents.models import CustodyEntry, Evidence, Incident, allocate_number
from incidents.verify import GENESIS_HASH, chain_breaks
from portal.models import Membership
from portal.services import audit, client_ip

Status = Incident.Status

#: The workflow: which status may follow which.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.DRAFT: frozenset({Status.OPEN, Status.CLOSED}),
    Status.OPEN: frozenset({Status.INVESTIGATING, Status.CLOSED, Status.REFERRED}),
    Status.INVESTIGATING: frozenset({Status.OPEN, Status.CLOSED, Status.REFERRED}),
    Status.CLOSED: frozenset({Status.INVESTIGATING}),
    Status.REFERRED: frozenset(),
}
FINISHED = frozenset({Status.CLOSED, Status.REFERRED})
MAX_TEXT = 4000
#: How far a clip window may reach past "now" (clock skew between the portal and recorders).
FUTURE_SLACK = dt.timedelta(seconds=5)


# --- numbers -------------------------------------------------------------------------------------


def _case_year(at: dt.datetime | None = None) -> int:
    return timezone.localtime(at or timezone.now()).year


# --- cases ---------------------------------------------------------------------------------------


def _check_text(name: str, value: str, *, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationError({name: [_("This field is required.")]})
    if len(value) > MAX_TEXT:
        raise ValidationError({name: [_("Keep it under %(n)s characters.") % {"n": MAX_TEXT}]})
    return value


def _check_location(ward: Any, location: Any) -> None:
    if location is None:
        return
    if location.srid not in (None, 4326):
        location.transform(4326)
    if not ward.boundary.contains(location):
        raise ValidationError({"location": [_("The place must lie inside the ward's boundary.")]})


def _check_investigators(ward: Any, users: Iterable[Any]) -> list[Any]:
    users = list(users)
    ids = {u.pk for u in users}
    ok = set(
        Membership.objects.filter(ward_id=ward.pk, user_id__in=ids, role__in=["investigator", "admin"]).values_list(
            "user_id", flat=True
        )
    )
    bad = sorted(u.get_username() for u in users if u.pk not in ok)
    if bad:
        raise ValidationError({"investigators": [_("Not an investigator of this ward: %(names)s.") % {"names": ", ".join(bad)}]})
    return users


def _check_same_ward(ward: Any, name: str, objs: Iterable[Any]) -> list[Any]:
    objs = list(objs)
    for obj in objs:
        if obj.ward_id != ward.pk:
            raise ValidationError({name: [_("Object %(id)s does not exist in this ward.") % {"id": obj.pk}]})
    return objs


@transaction.atomic
def create_case(
    *,
    ward: Any,
    actor: Any,
    title: str,
    occurred_at: dt.datetime,
    type: str = Incident.Type.OTHER,
    narrative: str = "",
    location: Any = None,
    status: str = Status.OPEN,
    cameras: Sequence[Camera] = (),
    investigators: Sequence[Any] = (),
    request: Any = None,
) -> Incident:
    """Open a case file (status ``open`` by default; ``draft`` for one still being written up)."""
    if status not in (Status.DRAFT, Status.OPEN):
        raise ValidationError({"status": [_("A new case starts as a draft or open.")]})
    _check_location(ward, location)
    case = Incident(
        ward=ward,
        title=_check_text("title", title, required=True),
        type=type,
        narrative=_check_text("narrative", narrative),
        location=location,
        occurred_at=occurred_at,
        status=status,
        created_by=actor,
    )
    case.number = allocate_number(ward=ward, year=_case_year())
    case.full_clean()
    case.save()
    if cameras:
        case.cameras.set(_check_same_ward(ward, "cameras", cameras))
    if investigators:
        case.investigators.set(_check_investigators(ward, investigators))
    audit(action="case_created", actor=actor, ward=ward.pk, obj=case, ip=client_ip(request))
    return case


def _lock_case(case: Incident) -> Incident:
    return Incident.objects.select_for_update(of=("self",)).select_related("ward").get(pk=case.pk)


CASE_FIELDS = frozenset({"title", "type", "narrative", "location", "occurred_at"})


@transaction.atomic
def update_case(*, case: Incident, actor: Any, request: Any = None, **changes: Any) -> Incident:
    """Change the facts of a case (title, type, narrative, location, occurred_at, cameras, investigators)."""
    case = _lock_case(case)
    unknown = set(changes) - CASE_FIELDS - {"cameras", "investigators"}
    if unknown:
        raise ValidationError({name: [_("This field cannot be changed here.")] for name in sorted(unknown)})
    if case.status in FINISHED and changes:
        raise ValidationError({"status": [_("The case is %(status)s: reopen it first.") % {"status": case.get_status_display()}]})
    changed: list[str] = []
    for name in sorted(CASE_FIELDS & set(changes)):
        value = changes[name]
        if name in ("title", "narrative"):
            value = _check_text(name, value, required=name == "title")
        if name == "location":
            _check_location(case.ward, value)
        if getattr(case, name) != value:
            setattr(case, name, value)
            changed.append(name)
    case.full_clean()
    case.save()
    if "cameras" in changes:
        case.cameras.set(_check_same_ward(case.ward, "cameras", changes["cameras"]))
        changed.append("cameras")
    if "investigators" in changes:
        case.investigators.set(_check_investigators(case.ward, changes["investigators"]))
        changed.append("investigators")
    audit(action="case_changed", actor=actor, ward=case.ward_id, obj=case, detail={"fields": changed}, ip=client_ip(request))
    return case


@transaction.atomic
def change_status(*, case: Incident, status: str, actor: Any, note: str = "", request: Any = None) -> Incident:
    """Move a case along the workflow; closing or referring needs a note."""
    case = _lock_case(case)
    note = _check_text("note", note)
    if status not in Status.values:
        raise ValidationError({"status": [_("Unknown status “%(s)s”.") % {"s": status}]})
    if status not in TRANSITIONS[case.status]:
        allowed = ", ".join(str(Status(s).label) for s in sorted(TRANSITIONS[case.status])) or _("none")
        raise ValidationError(
            {
                "status": [
                    _("A case that is %(now)s cannot become %(new)s. Allowed: %(allowed)s.")
                    % {"now": case.get_status_display(), "new": Status(status).label, "allowed": allowed}
                ]
            }
        )
    if status in FINISHED and not note:
        raise ValidationError({"note": [_("Say why the case is closed or where it was referred.")]})
    before = case.status
    case.status = status
    if status in FINISHED:
        case.closing_note = note
        case.closed_at = timezone.now()
    else:
        case.closed_at = None
    case.save(update_fields=["status", "closing_note", "closed_at", "updated_at"])
    audit(
        action="case_status_changed",
        actor=actor,
        ward=case.ward_id,
        obj=case,
        reason=note,
        detail={"from": before, "to": status},
        ip=client_ip(request),
    )
    record_custody(case=case, action="status_changed", actor=actor, reason=note, detail={"from": before, "to": status})
    return case


@transaction.atomic
def assign_investigators(*, case: Incident, investigators: Sequence[Any], actor: Any, request: Any = None) -> Incident:
    return update_case(case=case, actor=actor, request=request, investigators=investigators)


def _refuse_if_finished(case: Incident) -> None:
    if case.status in FINISHED:
        raise ValidationError(
            {"case": [_("The case is %(status)s: reopen it to add to it.") % {"status": case.get_status_display()}]}
        )


@transaction.atomic
def link(
    *,
    case: Incident,
    actor: Any,
    alerts: Sequence[Any] = (),
    plate_reads: Sequence[Any] = (),
    cameras: Sequence[Camera] = (),
    request: Any = None,
) -> Incident:
    """Link alerts, plate reads and cameras of the case's ward to the case."""
    case = _lock_case(case)
    _refuse_if_finished(case)
    alerts = _check_same_ward(case.ward, "alerts", alerts)
    plate_reads = _check_same_ward(case.ward, "plate_reads", plate_reads)
    cameras = _check_same_ward(case.ward, "cameras", cameras)
    for alert in alerts:
        if alert.incident_id not in (None, case.pk):
            raise ValidationError({"alerts": [_("Alert %(id)s belongs to another case.") % {"id": alert.pk}]})
    if alerts:
        type(alerts[0]).objects.filter(pk__in=[a.pk for a in alerts]).update(incident=case)
    if plate_reads:
        case.plate_reads.add(*plate_reads)
    if cameras:
        case.cameras.add(*cameras)
    audit(
        action="case_linked",
        actor=actor,
        ward=case.ward_id,
        obj=case,
        detail={
            "alerts": [a.pk for a in alerts],
            "plate_reads": [r.pk for r in plate_reads],
            "cameras": [c.pk for c in cameras],
        },
        ip=client_ip(request),
    )
    return case


# --- custody -------------------------------------------------------------------------------------


def _lock_custody(case_id: int) -> None:
    """Serialise appends to one case's chain (SQLite serialises writers with its database lock)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('matthan.custody'), %s)", [case_id])


def _actor_name(actor: Any) -> tuple[Any, str]:
    user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    return user, (user.get_username() if user else "system")


@transaction.atomic
def record_custody(
    *,
    case: Incident,
    action: str,
    actor: Any,
    evidence: Evidence | None = None,
    reason: str = "",
    detail: dict[str, Any] | None = None,
) -> CustodyEntry:
    """Append one entry to the case's custody chain (who, what, when, why). Never updated afterwards."""
    _lock_custody(case.pk)
    last = CustodyEntry.objects.filter(case_id=case.pk).order_by("-seq").values_list("seq", "hash").first()
    user, name = _actor_name(actor)
    # No IP address here: the log travels with every export (redacted ones are for public release);
    # the audit log, which stays in the portal, keeps where each request came from.
    detail = dict(detail or {})
    entry = CustodyEntry(
        ward_id=case.ward_id,
        case=case,
        seq=(last[0] + 1) if last else 1,
        evidence=evidence,
        evidence_sha256=evidence.sha256 if evidence is not None else "",
        case_number=case.number,
        at=timezone.now(),
        actor=user,
        actor_name=name,
        action=action,
        reason=_check_text("reason", reason),
        detail=detail,
        prev_hash=last[1] if last else GENESIS_HASH,
    )
    # Hash what the database gives back (JSON round trip), so verification re-computes the same bytes.
    entry.detail = media.json_roundtrip(entry.detail)
    entry.hash = entry.compute_hash()
    entry.save()
    return entry


def custody_log(case: Incident) -> list[dict[str, Any]]:
    """The case's chain as plain dicts (the hashed fields plus ``hash``), oldest first, for exports."""
    return [entry.payload() | {"hash": entry.hash} for entry in CustodyEntry.objects.filter(case_id=case.pk).order_by("seq")]


def verify_chain(entries: Iterable[dict[str, Any]]) -> list[int]:
    """The ``seq`` of every exported entry whose hash, link or place does not match (the verifier's own check)."""
    return list(dict.fromkeys(seq for seq, _problem in chain_breaks(list(entries))))


def verify_custody(*, case: Incident | None = None) -> dict[int, list[CustodyEntry]]:
    """Re-compute every chain (or one case's): ``{case id: [broken entries]}`` for broken chains only."""
    entries = CustodyEntry.objects.order_by("case_id", "seq")
    if case is not None:
        entries = entries.filter(case_id=case.pk)
    broken: dict[int, list[CustodyEntry]] = {}
    prev: dict[int, str] = {}
    expected_seq: dict[int, int] = {}
    for entry in entries.iterator(chunk_size=2000):
        seq = expected_seq.get(entry.case_id, 1)
        if entry.prev_hash != prev.get(entry.case_id, GENESIS_HASH) or entry.compute_hash() != entry.hash or entry.seq != seq:
            broken.setdefault(entry.case_id, []).append(entry)
        prev[entry.case_id] = entry.hash
        expected_seq[entry.case_id] = entry.seq + 1
    return broken


# --- evidence ------------------------------------------------------------------------------------


def _check_window(start: dt.datetime, end: dt.datetime) -> None:
    if start is None or end is None:
        raise ValidationError({"start": [_("Give both start and end of the window.")]})
    if end <= start:
        raise ValidationError({"end": [_("The end must come after the start.")]})
    longest = settings.EVIDENCE_CLIP_MAX_SECONDS
    if (end - start).total_seconds() > longest:
        raise ValidationError({"end": [_("A clip may last at most %(n)s seconds; ask for several.") % {"n": longest}]})
    if end > timezone.now() + FUTURE_SLACK:
        raise ValidationError({"end": [_("The window ends in the future: nothing is recorded there yet.")]})


def _queue(evidence: Evidence) -> None:
    from incidents.tasks import process_evidence

    transaction.on_commit(lambda: process_evidence.delay(evidence.pk))


@transaction.atomic
def add_clip(
    *,
    case: Incident,
    camera: Camera,
    start: dt.datetime,
    end: dt.datetime,
    actor: Any,
    reason: str = "",
    note: str = "",
    request: Any = None,
) -> Evidence:
    """Ask for a clip of ``camera`` over [start, end]: a pending item, cut by a worker (``process_evidence``)."""
    case = _lock_case(case)
    _refuse_if_finished(case)
    _check_same_ward(case.ward, "camera", [camera])
    _check_window(start, end)
    evidence = _request(
        case=case,
        kind=Evidence.Kind.CLIP,
        camera=camera,
        start=start,
        end=end,
        actor=actor,
        reason=reason,
        note=note,
        detail={"camera": camera.code, "start": start.isoformat(), "end": end.isoformat()},
        request=request,
    )
    _queue(evidence)
    return evidence


def _request(
    *,
    case: Incident,
    kind: str,
    camera: Camera,
    start: dt.datetime,
    end: dt.datetime,
    actor: Any,
    reason: str,
    note: str,
    detail: dict[str, Any],
    request: Any,
    source_alert: Any = None,
) -> Evidence:
    """A pending clip or still of ``camera``, its camera linked to the case, requested in custody and audit."""
    evidence = Evidence.objects.create(
        ward_id=case.ward_id,
        case=case,
        kind=kind,
        camera=camera,
        requested_start=start,
        requested_end=end,
        source_alert=source_alert,
        note=_check_text("note", note),
        created_by=actor,
    )
    case.cameras.add(camera)
    record_custody(case=case, evidence=evidence, action="requested", actor=actor, reason=reason, detail=detail)
    audit(
        action="evidence_requested",
        actor=actor,
        ward=case.ward_id,
        obj=evidence,
        reason=reason,
        detail=detail,
        ip=client_ip(request),
    )
    return evidence


@transaction.atomic
def add_sightings(
    *, case: Incident, reads: Sequence[Any], margin_s: int = 30, actor: Any, reason: str = "", request: Any = None
) -> list[Evidence]:
    """Put plate sightings into a case: link each read and its camera, and ask for the clip around it."""
    if not reads:
        raise ValidationError({"reads": [_("Choose at least one sighting.")]})
    if not 0 < margin_s <= settings.EVIDENCE_CLIP_MAX_SECONDS // 2:
        raise ValidationError(
            {"margin_s": [_("The margin must be between 1 and %(n)s seconds.") % {"n": settings.EVIDENCE_CLIP_MAX_SECONDS // 2}]}
        )
    link(
        case=case, actor=actor, plate_reads=reads, cameras=list({r.camera_id: r.camera for r in reads}.values()), request=request
    )
    margin = dt.timedelta(seconds=margin_s)
    now = timezone.now()
    clips = []
    for read in sorted(reads, key=lambda r: r.seen_at):
        end = min(read.seen_at + margin, now)
        clips.append(
            add_clip(
                case=case,
                camera=read.camera,
                start=read.seen_at - margin,
                end=end,
                actor=actor,
                reason=reason,
                note=_("Sighting of %(plate)s") % {"plate": read.text},
                request=request,
            )
        )
    return clips


@transaction.atomic
def add_snapshot(
    *,
    case: Incident,
    actor: Any,
    camera: Camera | None = None,
    at: dt.datetime | None = None,
    alert: Any = None,
    reason: str = "",
    note: str = "",
    request: Any = None,
) -> Evidence:
    """A still: the frame of ``camera`` at ``at`` from its recordings (cut by a worker), or an alert's snapshot."""
    case = _lock_case(case)
    _refuse_if_finished(case)
    if alert is not None:
        _check_same_ward(case.ward, "alert", [alert])
        if not alert.snapshot:
            raise ValidationError({"alert": [_("This alert has no snapshot.")]})
        camera, at = alert.camera, alert.raised_at
    elif camera is None or at is None:
        raise ValidationError({"camera": [_("Give a camera and a time (at), or an alert.")]})
    _check_same_ward(case.ward, "camera", [camera])
    if at > timezone.now() + FUTURE_SLACK:
        raise ValidationError({"at": [_("That time is in the future: nothing is recorded there yet.")]})
    evidence = _request(
        case=case,
        kind=Evidence.Kind.SNAPSHOT,
        camera=camera,
        start=at,
        end=at,
        actor=actor,
        reason=reason,
        note=note,
        detail={"camera": camera.code, "at": at.isoformat()} | ({"alert": alert.pk} if alert is not None else {}),
        request=request,
        source_alert=alert,
    )
    if alert is not None:
        with alert.snapshot.open("rb") as fh:
            stored = media.store(fh)
        _mark_ready(evidence, stored, actor=actor)
    else:
        _queue(evidence)
    return evidence


@transaction.atomic
def add_upload(*, case: Incident, file: Any, actor: Any, note: str = "", reason: str = "", request: Any = None) -> Evidence:
    """Take an uploaded file as evidence: size checked, type sniffed from its bytes, hashed, stored by hash."""
    case = _lock_case(case)
    _refuse_if_finished(case)
    kind = media.check_upload(file)  # raises ValidationError({"file": ...}) naming what is wrong
    stored = media.store(file, ext=kind.ext)
    evidence = Evidence.objects.create(
        ward_id=case.ward_id,
        case=case,
        kind=Evidence.Kind.UPLOAD,
        status=Evidence.Status.PENDING,
        original_name=(getattr(file, "name", "") or "")[:255],
        note=_check_text("note", note),
        created_by=actor,
    )
    audit(
        action="evidence_uploaded",
        actor=actor,
        ward=case.ward_id,
        obj=evidence,
        reason=reason,
        detail={"sha256": stored.sha256, "size": stored.size, "content_type": stored.content_type},
        ip=client_ip(request),
    )
    return _mark_ready(evidence, stored, actor=actor, reason=reason)


def _mark_ready(evidence: Evidence, stored: media.Stored, *, actor: Any, reason: str = "", **extra: Any) -> Evidence:
    evidence.file.name = stored.name
    evidence.sha256 = stored.sha256
    evidence.size = stored.size
    evidence.content_type = stored.content_type
    evidence.status = Evidence.Status.READY
    evidence.error = ""
    evidence.ready_at = timezone.now()
    for key, value in extra.items():
        setattr(evidence, key, value)
    evidence.save()
    detail: dict[str, Any] = {"sha256": stored.sha256, "size": stored.size, "content_type": stored.content_type}
    if evidence.true_start and evidence.true_end:
        detail |= {"true_start": evidence.true_start.isoformat(), "true_end": evidence.true_end.isoformat()}
    record_custody(case=evidence.case, evidence=evidence, action="intake", actor=actor, reason=reason, detail=detail)
    return evidence


# --- the worker's side ---------------------------------------------------------------------------


def _fail(evidence: Evidence, message: str) -> Evidence:
    evidence.status = Evidence.Status.FAILED
    evidence.error = message
    evidence.save(update_fields=["status", "error"])
    record_custody(case=evidence.case, evidence=evidence, action="failed", actor=None, detail={"error": message})
    return evidence


def _segments_for(camera_id: int, start: dt.datetime, end: dt.datetime) -> list[RecordingSegment]:
    return list(
        RecordingSegment.objects.filter(camera_id=camera_id, started_at__lt=end, ended_at__gt=start).order_by("started_at", "pk")
    )


def _hold(evidence: Evidence, segments: list[RecordingSegment]) -> None:
    from cameras.evidence_hold import set_segment_lock

    for segment in segments:
        set_segment_lock(
            segment=segment,
            locked=True,
            actor=evidence.created_by,
            reason=_("Evidence of case %(number)s") % {"number": evidence.case.number},
        )
    evidence.segments.add(*segments)


def process_evidence(*, evidence_id: int) -> Evidence | None:
    """Cut a pending clip or snapshot from the recordings (idempotent: only pending items are worked on)."""
    with transaction.atomic():
        evidence = (
            Evidence.objects.select_for_update(of=("self",))
            .select_related("case", "camera", "created_by")
            .filter(pk=evidence_id)
            .first()
        )
        if evidence is None or evidence.status != Evidence.Status.PENDING or evidence.kind == Evidence.Kind.UPLOAD:
            return evidence
        assert evidence.requested_start is not None and evidence.requested_end is not None and evidence.camera is not None
        start, end = evidence.requested_start, evidence.requested_end
        if evidence.kind == Evidence.Kind.SNAPSHOT:
            end = start + dt.timedelta(microseconds=1)
        segments = _segments_for(evidence.camera_id, start, end)
        if not segments:
            return _fail(evidence, _no_recordings(evidence))
        # Hold first, in the same transaction that finds them: retention cannot take them mid-cut.
        _hold(evidence, segments)
    try:
        if evidence.kind == Evidence.Kind.SNAPSHOT:
            result = media.snapshot(segments=segments, at=start)
        else:
            result = media.cut(segments=segments, start=start, end=end)
    except media.MediaError as exc:
        with transaction.atomic():
            return _fail(evidence, str(exc))
    with transaction.atomic():
        stored = media.store_path(result.path, ext=result.ext, content_type=result.content_type)
        result.cleanup()
        evidence = Evidence.objects.select_for_update(of=("self",)).select_related("case").get(pk=evidence.pk)
        if evidence.status != Evidence.Status.PENDING:
            return evidence
        return _mark_ready(
            evidence,
            stored,
            actor=None,
            true_start=result.true_start,
            true_end=result.true_end,
        )


def _no_recordings(evidence: Evidence) -> str:
    tz = timezone.get_current_timezone()
    fmt = "%Y-%m-%d %H:%M:%S"
    assert evidence.requested_start is not None and evidence.requested_end is not None and evidence.camera is not None
    return _("Camera %(camera)s has no recordings between %(start)s and %(end)s.") % {
        "camera": evidence.camera.code,
        "start": evidence.requested_start.astimezone(tz).strftime(fmt),
        "end": evidence.requested_end.astimezone(tz).strftime(fmt),
    }


# --- reading evidence ----------------------------------------------------------------------------


def view_evidence(*, evidence: Evidence, actor: Any, reason: str = "", request: Any = None, action: str = "view") -> Evidence:
    """Record that ``actor`` looked at (``view``) or took a copy of (``download``) an evidence item."""
    if action == "download" and not (reason or "").strip():
        raise ValidationError({"reason": [_("Say why you download this evidence.")]})
    with transaction.atomic():
        record_custody(case=evidence.case, evidence=evidence, action=action, actor=actor, reason=reason)
        audit(
            action=f"evidence_{action}",
            actor=actor,
            ward=evidence.ward_id,
            obj=evidence,
            reason=reason,
            detail={"case": evidence.case.number, "sha256": evidence.sha256},
            ip=client_ip(request),
        )
    return evidence


# --- evidence hold -------------------------------------------------------------------------------


@transaction.atomic
def release_hold(*, case: Incident, actor: Any, reason: str, request: Any = None) -> int:
    """Lift the evidence hold of a closed or referred case: unlock the segments no other held case needs.

    Returns how many segments were unlocked. The stored evidence files stay: only the source recordings
    become subject to retention again.
    """
    from cameras.evidence_hold import set_segment_lock

    case = _lock_case(case)
    reason = _check_text("reason", reason, required=True)
    if case.status not in FINISHED:
        raise ValidationError({"status": [_("Only a closed or referred case can release its evidence hold.")]})
    if case.hold_released_at is not None:
        raise ValidationError({"status": [_("The hold of this case was already released.")]})
    mine = list(RecordingSegment.objects.filter(evidence__case=case).distinct().order_by("pk"))
    # A segment behind evidence of another case whose hold still stands stays held.
    links = Evidence.segments.through.objects.filter(recordingsegment_id__in=[m.pk for m in mine])
    still_needed = set(
        links.filter(evidence__case__hold_released_at__isnull=True)
        .exclude(evidence__case_id=case.pk)
        .values_list("recordingsegment_id", flat=True)
    )
    released = 0
    for segment in mine:
        if segment.pk in still_needed or not segment.locked:
            continue
        set_segment_lock(segment=segment, locked=False, actor=actor, reason=reason, request=request)
        released += 1
    case.hold_released_at = timezone.now()
    case.hold_released_by = actor
    case.save(update_fields=["hold_released_at", "hold_released_by", "updated_at"])
    audit(
        action="case_hold_released",
        actor=actor,
        ward=case.ward_id,
        obj=case,
        reason=reason,
        detail={"segments": released},
        ip=client_ip(request),
    )
    record_custody(case=case, action="hold_released", actor=actor, reason=reason, detail={"segments_unlocked": released})
    return released
