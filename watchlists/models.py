"""Watchlists (hotlists): plates, and faces where the ward enabled them, that raise an alert when seen.

An entry belongs to the ward that proposed it and covers one or more of the proposer's wards (its own
always among them). It matches only once an admin of its ward other than the proposer approved it,
and only until it expires, is revoked or is rejected (DESIGN.md §6, §7). Every change is audited.

Who sees entries: investigators and admins. Officials and operators do not: an operator on duty
sees the alert a hit raises (with the plate and the reason to act), not the list itself.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from analytics.models import Severity
from portal.models import Ward, WardOwned

WATCHLIST_ROLES = frozenset({"investigator", "admin"})
#: Roles that may approve, reject and revoke (in the entry's own ward).
APPROVER_ROLES = frozenset({"admin"})
DEFAULT_FACE_THRESHOLD = 0.6


class Priority(models.IntegerChoices):
    HIGH = Severity.HIGH, _("High")
    CRITICAL = Severity.CRITICAL, _("Critical")


class WatchlistEntry(WardOwned):
    class Kind(models.TextChoices):
        PLATE = "plate", _("Plate")
        FACE = "face", _("Face")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for approval")
        ACTIVE = "active", _("Active")
        EXPIRED = "expired", _("Expired")
        REVOKED = "revoked", _("Revoked")
        REJECTED = "rejected", _("Rejected")

    OPEN = frozenset({Status.PENDING, Status.ACTIVE})

    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.PLATE)
    plate = models.CharField(_("plate as given"), max_length=32, blank=True)
    text = models.CharField(_("plate"), max_length=32, blank=True, help_text=_("As the plate grammar writes it."))
    search_key = models.CharField(_("search key"), max_length=32, blank=True, db_index=True)
    face_sighting = models.ForeignKey(
        "analytics.FaceSighting",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("face sighting"),
        help_text=_("The sighting the face was taken from; its embedding is copied into the entry."),
    )
    embedding = models.JSONField(_("embedding"), default=list, blank=True)
    threshold = models.FloatField(
        _("match threshold"),
        default=DEFAULT_FACE_THRESHOLD,
        validators=[MinValueValidator(0.1), MaxValueValidator(1.0)],
        help_text=_("Largest face-descriptor distance counted as the same person (0.6 is dlib's usual)."),
    )
    reason = models.TextField(_("reason"))
    legal_basis = models.TextField(_("legal basis"))
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices, default=Priority.HIGH)
    covered_wards = models.ManyToManyField(Ward, related_name="+", verbose_name=_("covered wards"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("proposed by")
    )
    created_at = models.DateTimeField(_("proposed at"), auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), db_index=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("rejected or revoked by"),
    )
    closed_at = models.DateTimeField(_("rejected or revoked at"), null=True, blank=True)
    close_reason = models.TextField(_("reason for rejection or revocation"), blank=True)

    ward_view_roles = WATCHLIST_ROLES
    ward_change_roles = WATCHLIST_ROLES

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("watchlist entry")
        verbose_name_plural = _("watchlist entries")
        indexes = [models.Index(fields=["status", "search_key"], name="watchlist_active_key")]

    def __str__(self) -> str:
        what = self.text or self.plate if self.kind == self.Kind.PLATE else _("face")
        return f"{what} ({self.get_status_display()})"


class WatchlistHit(WardOwned):
    """One sighting that matched one entry. Unique per (entry, sighting): a retried task never raises twice.

    ``ward`` is the entry's ward (the hit is part of the entry's history); the alerts it raised are in
    each covered ward.
    """

    entry = models.ForeignKey(WatchlistEntry, on_delete=models.CASCADE, related_name="hits", verbose_name=_("entry"))
    plate_read = models.ForeignKey(
        "analytics.PlateRead", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("plate read")
    )
    face_sighting = models.ForeignKey(
        "analytics.FaceSighting",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("face sighting"),
    )
    sighting_key = models.CharField(max_length=40, help_text=_("plate:<read id> or face:<sighting id>."))
    seen_at = models.DateTimeField(_("seen at"))
    distance = models.FloatField(_("face distance"), null=True, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("matched at"), auto_now_add=True)

    ward_view_roles = WATCHLIST_ROLES
    ward_change_roles = frozenset[str]()

    class Meta:
        ordering = ["-seen_at", "-id"]
        verbose_name = _("watchlist hit")
        verbose_name_plural = _("watchlist hits")
        constraints = [models.UniqueConstraint(fields=["entry", "sighting_key"], name="watchlisthit_once_per_sighting")]

    def __str__(self) -> str:
        return f"{self.entry_id} {self.sighting_key}"
