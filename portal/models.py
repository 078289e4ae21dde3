"""Tenancy (wards, old wards, memberships and roles) and the tamper-evident audit log."""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _

from portal.querysets import WardOwnedQuerySet, WardQuerySet


class Ward(models.Model):
    """The tenant: a merged ward with its boundary."""

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    code = models.CharField(_("code"), max_length=8, unique=True, help_text=_("Short prefix used in numbers, e.g. TNP."))
    boundary = models.MultiPolygonField(_("boundary"), srid=4326)
    faces_enabled = models.BooleanField(
        _("face detection enabled"),
        default=False,
        help_text=_("Off by default (DESIGN.md §7): only where the ward has a lawful basis for it."),
    )
    plate_read_retention_days = models.PositiveIntegerField(
        _("plate read retention (days)"),
        null=True,
        blank=True,
        help_text=_("Plate reads not linked to a case are deleted after this many days. Empty: the deployment's default."),
    )

    objects = WardQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("ward")
        verbose_name_plural = _("wards")

    def __str__(self) -> str:
        return self.name


class WardOwned(models.Model):
    """Base of every ward-owned row: a non-null ward, protected, never defaulted."""

    ward = models.ForeignKey(Ward, on_delete=models.PROTECT, verbose_name=_("ward"))

    objects = WardOwnedQuerySet.as_manager()

    class Meta:
        abstract = True


class OldWard(WardOwned):
    """A pre-merger ward inside a merged ward, used for statistics and filtering."""

    name = models.CharField(_("name"), max_length=120)
    boundary = models.MultiPolygonField(_("boundary"), srid=4326)

    class Meta:
        ordering = ["name"]
        verbose_name = _("old ward")
        verbose_name_plural = _("old wards")
        constraints = [models.UniqueConstraint(fields=["ward", "name"], name="oldward_unique_name_per_ward")]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OFFICIAL = "official", _("Official")
    OPERATOR = "operator", _("Operator")
    INVESTIGATOR = "investigator", _("Investigator")
    ADMIN = "admin", _("Admin")


class Membership(WardOwned):
    """A user's role in a ward. Exactly one membership of a user is the home ward."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    is_home = models.BooleanField(_("home ward"), default=True)

    ward_change_roles = frozenset({"admin"})

    class Meta:
        ordering = ["ward__name", "user__username"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["ward", "user"], name="membership_one_role_per_ward"),
            models.UniqueConstraint(fields=["user"], condition=models.Q(is_home=True), name="membership_one_home_ward"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.ward} · {self.get_role_display()}"


class AuditEntry(models.Model):
    """One line of the audit log, chained to the previous one by SHA-256.

    ``ward`` is nullable on purpose: a failed sign-in belongs to no ward. Entries are written only
    by ``portal.services.audit`` and never updated; ``manage.py verify_audit`` re-computes the chain.
    """

    at = models.DateTimeField(_("when"), db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    actor_name = models.CharField(_("who"), max_length=150, blank=True)
    ward = models.ForeignKey(Ward, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    action = models.CharField(_("action"), max_length=60, db_index=True)
    object_type = models.CharField(_("object type"), max_length=60, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    ward_view_roles = frozenset({"admin"})

    class Meta:
        ordering = ["-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action}"

    def compute_hash(self) -> str:
        payload = {
            "at": self.at.isoformat(),
            "actor": self.actor_id,
            "actor_name": self.actor_name,
            "ward": self.ward_id,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "object_repr": self.object_repr,
            "reason": self.reason,
            "detail": self.detail,
            "ip": self.ip,
            "prev": self.prev_hash,
        }
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
        return hashlib.sha256(blob.encode()).hexdigest()
