"""Writes of the tenancy layer: the audit log and ward choice. Keyword-only, atomic."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_ipv46_address
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.ipv6 import clean_ipv6_address

from portal.models import AuditEntry, Membership, Ward

GENESIS_HASH = "0" * 64


def _lock_chain() -> None:
    """Serialise appends so two writers never chain to the same predecessor."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('matthan.audit'))")
    # SQLite serialises writers with its database lock.


def _stored_ip(ip: str | None) -> str | None:
    """The address as the database keeps it (IPv6 in short form), so the hash covers what is stored."""
    if not ip:
        return None
    validate_ipv46_address(ip)
    return clean_ipv6_address(ip) if ":" in ip else ip


def audit(
    *,
    action: str,
    actor: Any = None,
    ward: Ward | int | None = None,
    obj: models.Model | None = None,
    reason: str = "",
    detail: dict[str, Any] | None = None,
    ip: str | None = None,
    actor_name: str = "",
) -> AuditEntry:
    """Append one entry to the audit log, chained to the previous one."""
    try:
        ip = _stored_ip(ip)
    except ValidationError:
        # Not an address (a misconfigured proxy header): keep what was given, where it cannot break the row.
        detail = {**(detail or {}), "remote_addr": str(ip)[:100]}
        ip = None
    with transaction.atomic():
        _lock_chain()
        last = AuditEntry.objects.order_by("-id").values_list("hash", flat=True).first()
        user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
        entry = AuditEntry(
            at=timezone.now(),
            actor=user,
            actor_name=actor_name or (user.get_username() if user else ""),
            ward_id=ward.pk if isinstance(ward, Ward) else ward,
            action=action,
            object_type=obj._meta.label_lower if obj is not None else "",
            object_id=str(obj.pk) if obj is not None else "",
            object_repr=str(obj)[:200] if obj is not None else "",
            reason=reason,
            detail=detail or {},
            ip=ip,
            prev_hash=last or GENESIS_HASH,
        )
        entry.hash = entry.compute_hash()
        entry.save()
        return entry


@dataclass(frozen=True)
class ChainReport:
    checked: int
    broken_ids: list[int]

    @property
    def intact(self) -> bool:
        return not self.broken_ids


def verify_audit_chain() -> ChainReport:
    """Re-compute every hash in order; report each entry that was edited, removed or reordered."""
    prev = GENESIS_HASH
    broken: list[int] = []
    count = 0
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=2000):
        count += 1
        if entry.prev_hash != prev or entry.compute_hash() != entry.hash:
            broken.append(entry.pk)
        prev = entry.hash
    return ChainReport(checked=count, broken_ids=broken)


def client_ip(request: Any) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def home_ward_id(user: Any) -> int | None:
    if not getattr(user, "is_authenticated", False):
        return None
    cache = user.__dict__
    if "_home_ward_id" not in cache:
        memberships = list(
            Membership.objects.filter(user=user).order_by("-is_home", "ward_id").values_list("ward_id", flat=True)[:1]
        )
        cache["_home_ward_id"] = memberships[0] if memberships else None
    return cache["_home_ward_id"]


def audit_outside_home(*, user: Any, ward_ids: list[int] | set[int], what: str, request: Any = None) -> None:
    """Write one entry when ``user`` looks at wards other than their home ward (DESIGN.md §3)."""
    home = home_ward_id(user)
    if home is None:
        return
    outside = sorted(w for w in set(ward_ids) if w != home)
    for ward_id in outside:
        audit(
            action="access_outside_home_ward",
            actor=user,
            ward=ward_id,
            detail={"what": what, "home_ward": home},
            ip=client_ip(request),
        )


def wards_for_user(user: Any) -> models.QuerySet[Ward]:
    return Ward.objects.restrict(user).order_by("name")


def ward_data_changed(ward_id: int | None) -> None:
    """Tell caches derived from a ward's data (coverage statistics) that it changed, after commit."""
    if ward_id is None:
        return

    def bump() -> None:
        key = f"ward-data-gen:{ward_id}"
        cache.add(key, 0, None)
        cache.incr(key)

    transaction.on_commit(bump)


@transaction.atomic
def save_owned(*, obj: models.Model, actor: Any, request: Any = None) -> models.Model:
    """Save a site, sponsor, funding or old ward after model validation, and audit it."""
    created = obj.pk is None
    obj.full_clean()
    obj.save()
    ward_data_changed(getattr(obj, "ward_id", None) if not isinstance(obj, Ward) else obj.pk)
    audit(
        action=f"{obj._meta.model_name}_{'created' if created else 'changed'}",
        actor=actor,
        ward=getattr(obj, "ward_id", None),
        obj=obj,
        ip=client_ip(request),
    )
    return obj


@transaction.atomic
def delete_owned(*, obj: models.Model, actor: Any, request: Any = None) -> None:
    audit(
        action=f"{obj._meta.model_name}_deleted",
        actor=actor,
        ward=getattr(obj, "ward_id", None),
        obj=obj,
        ip=client_ip(request),
    )
    ward_data_changed(getattr(obj, "ward_id", None))
    obj.delete()
