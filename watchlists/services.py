"""Writes of the watchlists: propose, approve, reject, revoke, expire; and matching sightings against entries.

Every write is atomic and audited (``portal.services.audit`` with the reason given). Matching runs in
a Celery task queued after the sightings commit (:func:`queue_matching`): a hit raises a watchlist
alert in each ward the entry covers, within seconds of the read being saved, and only there.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics.models import AlertType, FaceSighting, PlateRead
from analytics.plates.grammar import parse, search_key
from portal.models import Membership, Ward
from portal.services import audit, client_ip
from watchlists.models import APPROVER_ROLES, WATCHLIST_ROLES, Priority, WatchlistEntry, WatchlistHit

MAX_TEXT = 2000
EMBEDDING_SIZE = 128


# --- queueing (called by whoever saves plate reads or face sightings) ---------------------------


def queue_matching(read_ids: list[int]) -> None:
    """After commit, queue a check of these plate reads against the active watchlist entries."""
    ids = sorted({int(i) for i in read_ids})
    if not ids:
        return
    from watchlists import tasks

    transaction.on_commit(lambda: tasks.match_plate_reads.delay(ids), robust=True)


def queue_face_matching(sighting_ids: list[int]) -> None:
    """After commit, queue a check of these face sightings against the active face entries."""
    ids = sorted({int(i) for i in sighting_ids})
    if not ids:
        return
    from watchlists import tasks

    transaction.on_commit(lambda: tasks.match_face_sightings.delay(ids), robust=True)


# --- who may do what ----------------------------------------------------------------------------


def _roles(user: Any) -> dict[int, str]:
    """The user's role per ward id."""
    if not getattr(user, "is_authenticated", False):
        return {}
    cache = user.__dict__.setdefault("_watchlist_roles", None)
    if cache is None:
        cache = dict(Membership.objects.filter(user=user).values_list("ward_id", "role"))
        user.__dict__["_watchlist_roles"] = cache
    return cache


def may_propose_in(user: Any, ward_id: int) -> bool:
    return bool(getattr(user, "is_superuser", False)) or _roles(user).get(ward_id) in WATCHLIST_ROLES


def is_approver(user: Any, entry: WatchlistEntry) -> bool:
    return bool(getattr(user, "is_superuser", False)) or _roles(user).get(entry.ward_id) in APPROVER_ROLES


def approval_refusal(user: Any, entry: WatchlistEntry) -> str | None:
    """Why ``user`` may not approve or reject ``entry`` now (None: they may). Shown on disabled buttons."""
    if entry.status != WatchlistEntry.Status.PENDING:
        return _("Only an entry waiting for approval can be approved or rejected.")
    if not is_approver(user, entry):
        return _("Only an admin of the entry's ward approves or rejects it.")
    if entry.proposed_by_id == getattr(user, "pk", None):
        return _("You proposed this entry: another admin of the ward must approve it.")
    return None


def revoke_refusal(user: Any, entry: WatchlistEntry) -> str | None:
    if entry.status not in WatchlistEntry.OPEN:
        return _("This entry is already %(status)s.") % {"status": entry.get_status_display().lower()}
    if not is_approver(user, entry) and entry.proposed_by_id != getattr(user, "pk", None):
        return _("Only an admin of the entry's ward, or its proposer, revokes it.")
    return None


# --- validation helpers ---------------------------------------------------------------------------


def _text(value: str, field: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: [_("Write the %(what)s.") % {"what": what}]})
    if len(value) > MAX_TEXT:
        raise ValidationError(
            {field: [_("The text is %(n)d characters; keep it under %(max)d.") % {"n": len(value), "max": MAX_TEXT}]}
        )
    return value


def _expiry(expires_at: dt.datetime | None, *, now: dt.datetime) -> dt.datetime:
    if expires_at is None:
        raise ValidationError({"expires_at": [_("Say when the entry expires.")]})
    if timezone.is_naive(expires_at):
        expires_at = timezone.make_aware(expires_at)
    if expires_at <= now:
        raise ValidationError({"expires_at": [_("The expiry is in the past; give a time in the future.")]})
    cap = now + dt.timedelta(days=settings.WATCHLIST_MAX_DAYS)
    if expires_at > cap:
        raise ValidationError(
            {
                "expires_at": [
                    _("An entry lasts at most %(days)d days: give a time before %(cap)s.")
                    % {"days": settings.WATCHLIST_MAX_DAYS, "cap": timezone.localtime(cap).strftime("%Y-%m-%d %H:%M")}
                ]
            }
        )
    return expires_at


def _covered(actor: Any, ward: Ward, covered: Iterable[Ward | int]) -> list[int]:
    ids = {ward.pk} | {w.pk if isinstance(w, Ward) else int(w) for w in covered}
    refused = sorted(i for i in ids if not may_propose_in(actor, i))
    if refused:
        raise ValidationError(
            {
                "covered_wards": [
                    _("Ward %(id)s is not one of your wards (as investigator or admin).") % {"id": i} for i in refused
                ]
            }
        )
    return sorted(ids)


# --- writes -------------------------------------------------------------------------------------


@transaction.atomic
def propose(
    *,
    actor: Any,
    ward: Ward,
    reason: str,
    legal_basis: str,
    expires_at: dt.datetime | None,
    kind: str = WatchlistEntry.Kind.PLATE,
    plate: str = "",
    face_sighting: FaceSighting | None = None,
    threshold: float | None = None,
    priority: int = Priority.HIGH,
    covered_wards: Iterable[Ward | int] = (),
    request: Any = None,
) -> WatchlistEntry:
    """Propose an entry (pending until another admin of ``ward`` approves it)."""
    if not may_propose_in(actor, ward.pk):
        raise PermissionDenied(_("Only investigators and admins of the ward propose watchlist entries."))
    now = timezone.now()
    errors: dict[str, list[str]] = {}

    def check(fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors.setdefault(key, []).extend(messages)
            return None

    reason = check(_text, reason, "reason", _("reason"))
    legal_basis = check(_text, legal_basis, "legal_basis", _("legal basis"))
    expires_at = check(_expiry, expires_at, now=now)
    ward_ids = check(_covered, actor, ward, covered_wards)
    if priority not in Priority.values:
        errors["priority"] = [_("Give a priority of %(choices)s.") % {"choices": ", ".join(map(str, Priority.values))}]
    entry = WatchlistEntry(
        ward=ward,
        kind=kind,
        reason=reason or "",
        legal_basis=legal_basis or "",
        expires_at=expires_at or now,
        priority=priority,
        proposed_by=actor,
    )
    if kind == WatchlistEntry.Kind.PLATE:
        if face_sighting is not None:
            errors["face_sighting"] = [_("A plate entry takes no face sighting.")]
        parsed = parse(plate or "")
        if parsed is None:
            errors["plate"] = [
                _("“%(plate)s” is not a Vietnamese plate: write it like 51F-123.45 or 59-X1 234.56.") % {"plate": plate or ""}
            ]
        else:
            entry.plate, entry.text, entry.search_key = plate.strip()[:32], parsed.text, search_key(parsed.text)
    elif kind == WatchlistEntry.Kind.FACE:
        if plate:
            errors["plate"] = [_("A face entry takes no plate.")]
        if not ward.faces_enabled:
            errors["kind"] = [_("Face entries need face detection enabled in the ward (an admin's decision).")]
        if ward_ids:
            off = list(Ward.objects.filter(pk__in=ward_ids, faces_enabled=False).values_list("name", flat=True))
            if off and ward.faces_enabled:
                errors.setdefault("covered_wards", []).append(
                    _("Face detection is off in %(wards)s: a face entry cannot cover it.") % {"wards": ", ".join(off)}
                )
        if face_sighting is None:
            errors["face_sighting"] = [_("Pick the face sighting whose face is wanted.")]
        elif face_sighting.ward_id != ward.pk:
            errors["face_sighting"] = [_("Face sighting %(id)s is not in this ward.") % {"id": face_sighting.pk}]
        elif len(face_sighting.embedding or []) != EMBEDDING_SIZE:
            errors["face_sighting"] = [_("This sighting has no face descriptor to match with; pick another.")]
        else:
            entry.face_sighting = face_sighting
            entry.embedding = list(face_sighting.embedding)
        if threshold is not None:
            entry.threshold = threshold
    else:
        errors["kind"] = [_("Choose plate or face.")]
    if errors:
        raise ValidationError(errors)
    entry.full_clean(exclude=["covered_wards"])
    entry.save()
    entry.covered_wards.set(ward_ids)
    detail = {
        "kind": entry.kind,
        "plate": entry.text,
        "priority": entry.priority,
        "legal_basis": entry.legal_basis,
        "covered_wards": ward_ids,
        "expires_at": entry.expires_at.isoformat(),
    }
    audit(
        action="watchlist_proposed", actor=actor, ward=ward, obj=entry, reason=entry.reason, detail=detail, ip=client_ip(request)
    )
    for other in ward_ids:
        if other != ward.pk:  # the covered ward's own log says that it is watched, and by whom
            audit(
                action="watchlist_covers_ward",
                actor=actor,
                ward=other,
                obj=entry,
                reason=entry.reason,
                detail={**detail, "entry_ward": ward.pk},
                ip=client_ip(request),
            )
    return entry


def _lock(entry: WatchlistEntry) -> WatchlistEntry:
    return WatchlistEntry.objects.select_for_update(of=("self",)).get(pk=entry.pk)


@transaction.atomic
def approve(*, entry: WatchlistEntry, actor: Any, note: str = "", request: Any = None) -> WatchlistEntry:
    """Approve a pending entry: it matches from now until it expires. Never by its proposer."""
    entry = _lock(entry)
    refusal = approval_refusal(actor, entry)
    if refusal is not None:
        if entry.status != WatchlistEntry.Status.PENDING:
            raise ValidationError({"status": [refusal]})
        raise PermissionDenied(refusal)
    now = timezone.now()
    if entry.expires_at <= now:
        raise ValidationError({"expires_at": [_("The entry expired before it was approved; propose it again.")]})
    entry.status = WatchlistEntry.Status.ACTIVE
    entry.approved_by, entry.approved_at = actor, now
    entry.save(update_fields=["status", "approved_by", "approved_at"])
    audit(
        action="watchlist_approved",
        actor=actor,
        ward=entry.ward_id,
        obj=entry,
        reason=(note or "").strip()[:MAX_TEXT],
        detail={"proposed_by": entry.proposed_by_id, "expires_at": entry.expires_at.isoformat()},
        ip=client_ip(request),
    )
    return entry


@transaction.atomic
def reject(*, entry: WatchlistEntry, actor: Any, reason: str, request: Any = None) -> WatchlistEntry:
    reason = _text(reason, "reason", _("reason"))
    entry = _lock(entry)
    if entry.status != WatchlistEntry.Status.PENDING:
        raise ValidationError({"status": [_("Only an entry waiting for approval can be rejected.")]})
    if not is_approver(actor, entry):
        raise PermissionDenied(_("Only an admin of the entry's ward approves or rejects it."))
    return _close(entry, actor=actor, status=WatchlistEntry.Status.REJECTED, reason=reason, request=request)


@transaction.atomic
def revoke(*, entry: WatchlistEntry, actor: Any, reason: str, request: Any = None) -> WatchlistEntry:
    """End an entry now (an admin of its ward, or its proposer withdrawing it)."""
    reason = _text(reason, "reason", _("reason"))
    entry = _lock(entry)
    refusal = revoke_refusal(actor, entry)
    if refusal is not None:
        if entry.status not in WatchlistEntry.OPEN:
            raise ValidationError({"status": [refusal]})
        raise PermissionDenied(refusal)
    return _close(entry, actor=actor, status=WatchlistEntry.Status.REVOKED, reason=reason, request=request)


def _close(entry: WatchlistEntry, *, actor: Any, status: str, reason: str, request: Any) -> WatchlistEntry:
    entry.status = status
    entry.closed_by, entry.closed_at, entry.close_reason = actor, timezone.now(), reason
    entry.save(update_fields=["status", "closed_by", "closed_at", "close_reason"])
    audit(action=f"watchlist_{status}", actor=actor, ward=entry.ward_id, obj=entry, reason=reason, ip=client_ip(request))
    return entry


def expire_entries(*, now: dt.datetime | None = None) -> int:
    """Mark every open entry past its expiry as expired, each audited. Safe to run twice."""
    now = now or timezone.now()
    done = 0
    for pk in WatchlistEntry.objects.filter(status__in=WatchlistEntry.OPEN, expires_at__lte=now).values_list("pk", flat=True):
        with transaction.atomic():
            entry = WatchlistEntry.objects.select_for_update(of=("self",)).filter(pk=pk).first()
            if entry is None or entry.status not in WatchlistEntry.OPEN or entry.expires_at > now:
                continue
            was = entry.status
            entry.status = WatchlistEntry.Status.EXPIRED
            entry.save(update_fields=["status"])
            audit(
                action="watchlist_expired",
                ward=entry.ward_id,
                obj=entry,
                actor_name="scheduler",
                reason=_("Expired"),
                detail={"expires_at": entry.expires_at.isoformat(), "was": was},
            )
            done += 1
    return done


# --- matching -----------------------------------------------------------------------------------


def _place(camera: Any, ward: Ward) -> dict[str, Any]:
    place: dict[str, Any] = {"ward": {"id": ward.pk, "slug": ward.slug, "name": ward.name}, "camera": None}
    if camera is not None:
        place["camera"] = {
            "id": camera.pk,
            "code": camera.code,
            "name": camera.name,
            "location": [camera.location.x, camera.location.y] if camera.location else None,
        }
    return place


def _hit(
    entry: WatchlistEntry,
    *,
    sighting_key: str,
    seen_at: dt.datetime,
    ward: Ward,
    camera: Any,
    job_id: int | None,
    sighting: dict[str, Any],
    plate_read: PlateRead | None = None,
    face_sighting: FaceSighting | None = None,
    distance: float | None = None,
) -> bool:
    """Record one hit and raise its alert in each covered ward; False when it was recorded before."""
    from analytics.services import raise_alert

    with transaction.atomic():
        # Re-read under a lock: a revoke or the expiry job that committed meanwhile wins.
        locked = (
            WatchlistEntry.objects.select_for_update(of=("self",))
            .filter(pk=entry.pk, status=WatchlistEntry.Status.ACTIVE, expires_at__gt=timezone.now())
            .first()
        )
        if locked is None:
            return False
        details: dict[str, Any] = {
            "entry": entry.pk,
            "entry_ward": entry.ward_id,
            "kind": entry.kind,
            "plate": entry.text,
            "priority": entry.priority,
            "reason": entry.reason,
            "sighting": {
                **sighting,
                **_place(camera, ward),
                "seen_at": seen_at.isoformat(),
                "clip_job": job_id,
                # A clip job's footage is recorded, not live: the vehicle was there then, not now.
                "recorded": job_id is not None,
            },
        }
        try:
            with transaction.atomic():
                WatchlistHit.objects.create(
                    ward_id=entry.ward_id,
                    entry=entry,
                    plate_read=plate_read,
                    face_sighting=face_sighting,
                    sighting_key=sighting_key,
                    seen_at=seen_at,
                    distance=distance,
                    details=details,
                )
        except IntegrityError:
            return False
        for covered in sorted(entry.covered_wards.all(), key=lambda w: w.pk):
            raise_alert(
                camera=camera if covered.pk == ward.pk else None,
                ward=covered.pk,
                type=AlertType.WATCHLIST_HIT,
                severity=entry.priority,
                note=entry.text if entry.kind == WatchlistEntry.Kind.PLATE else str(_("Watched face")),
                details=details,
                group_by={"entry": entry.pk},
                details_on_repeat={"sighting": details["sighting"]},
            )
    return True


def match_plate_reads(*, read_ids: list[int]) -> int:
    """Check plate reads against active plate entries; returns the number of new hits."""
    reads = [r for r in PlateRead.objects.filter(pk__in=read_ids).select_related("camera", "ward") if r.search_key]
    if not reads:
        return 0
    keys = {r.search_key for r in reads}
    entries = list(
        WatchlistEntry.objects.filter(
            kind=WatchlistEntry.Kind.PLATE,
            status=WatchlistEntry.Status.ACTIVE,
            expires_at__gt=timezone.now(),
            search_key__in=keys,
        ).prefetch_related("covered_wards")
    )
    hits = 0
    for read in reads:
        for entry in entries:
            if entry.search_key != read.search_key or read.ward_id not in {w.pk for w in entry.covered_wards.all()}:
                continue
            sighting = {
                "read": read.pk,
                "read_plate": read.text or read.plate,
                "confidence": read.confidence,
                "source": read.source,
            }
            hits += _hit(
                entry,
                sighting_key=f"plate:{read.pk}",
                seen_at=read.seen_at,
                ward=read.ward,
                camera=read.camera,
                job_id=read.job_id,
                sighting=sighting,
                plate_read=read,
            )
    return hits


def face_distance(a: list[float], b: list[float]) -> float:
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b, strict=True)))


def match_face_sightings(*, sighting_ids: list[int]) -> int:
    """Check face sightings (of wards with faces enabled) against active face entries."""
    sightings = [
        s
        for s in FaceSighting.objects.filter(pk__in=sighting_ids, ward__faces_enabled=True).select_related("camera", "ward")
        if len(s.embedding or []) == EMBEDDING_SIZE
    ]
    if not sightings:
        return 0
    entries = [
        e
        for e in WatchlistEntry.objects.filter(
            kind=WatchlistEntry.Kind.FACE,
            status=WatchlistEntry.Status.ACTIVE,
            expires_at__gt=timezone.now(),
            covered_wards__in={s.ward_id for s in sightings},
        )
        .distinct()
        .prefetch_related("covered_wards")
        if len(e.embedding or []) == EMBEDDING_SIZE
    ]
    hits = 0
    for s in sightings:
        for entry in entries:
            if s.ward_id not in {w.pk for w in entry.covered_wards.all()}:
                continue
            distance = face_distance(entry.embedding, s.embedding)
            if distance >= entry.threshold:
                continue
            hits += _hit(
                entry,
                sighting_key=f"face:{s.pk}",
                seen_at=s.seen_at,
                ward=s.ward,
                camera=s.camera,
                job_id=s.job_id,
                sighting={"face_sighting": s.pk, "distance": round(distance, 4), "source": s.source},
                face_sighting=s,
                distance=distance,
            )
    return hits
