"""Alerts: the durable log of what needs an officer's attention, and its history of events.

Every alert is written here first; what browsers and other systems receive are ``AlertEvent`` rows
(raised, grouped, acknowledged, ...) pushed after commit. The event id is the sequence number a
reconnecting client gives to get what it missed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cameras.fields import EncryptedTextField
from portal.models import WardOwned

ALERT_ROLES = frozenset({"operator", "investigator", "admin"})


class AlertType(models.TextChoices):
    MANUAL = "manual", _("Manual report")
    ZONE_INTRUSION = "zone_intrusion", _("Zone intrusion")
    ENCROACHMENT = "encroachment", _("Sidewalk/roadway encroachment")
    LOITERING = "loitering", _("Loitering")
    LINE_CROSSING = "line_crossing", _("Line crossing")
    CROWDING = "crowding", _("Crowding")
    PERSON_FALLEN = "person_fallen", _("Person fallen")
    WRONG_WAY = "wrong_way", _("Wrong way")
    TAMPERED = "tampered", _("Camera tampered or dark")
    CAMERA_OFFLINE = "camera_offline", _("Camera offline")
    CAMERA_ONLINE = "camera_online", _("Camera back online")
    WATCHLIST_HIT = "watchlist_hit", _("Watchlist hit")


class Severity(models.IntegerChoices):
    LOW = 1, _("Low")
    MEDIUM = 2, _("Medium")
    HIGH = 3, _("High")
    CRITICAL = 4, _("Critical")


DEFAULT_SEVERITY = {
    AlertType.MANUAL: Severity.MEDIUM,
    AlertType.ZONE_INTRUSION: Severity.HIGH,
    AlertType.ENCROACHMENT: Severity.LOW,
    AlertType.LOITERING: Severity.MEDIUM,
    AlertType.LINE_CROSSING: Severity.LOW,
    AlertType.CROWDING: Severity.MEDIUM,
    AlertType.PERSON_FALLEN: Severity.HIGH,
    AlertType.WRONG_WAY: Severity.MEDIUM,
    AlertType.TAMPERED: Severity.HIGH,
    AlertType.CAMERA_OFFLINE: Severity.MEDIUM,
    AlertType.CAMERA_ONLINE: Severity.LOW,
    AlertType.WATCHLIST_HIT: Severity.CRITICAL,
}


class Alert(WardOwned):
    class Status(models.TextChoices):
        NEW = "new", _("New")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        ESCALATED = "escalated", _("Escalated to an incident")
        DISMISSED = "dismissed", _("Dismissed as false")

    camera = models.ForeignKey("cameras.Camera", on_delete=models.PROTECT, related_name="alerts", verbose_name=_("camera"))
    type = models.CharField(_("type"), max_length=20, choices=AlertType.choices)
    severity = models.PositiveSmallIntegerField(_("severity"), choices=Severity.choices)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.NEW)
    note = models.TextField(_("note"), blank=True)
    snapshot = models.ImageField(_("snapshot"), upload_to="alerts/%Y/%m/%d", blank=True)
    raised_at = models.DateTimeField(_("raised at"), db_index=True)
    last_seen_at = models.DateTimeField(_("last seen at"))
    count = models.PositiveIntegerField(_("count"), default=1, help_text=_("How many hits were grouped into this alert."))
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assigned to"),
    )
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    handled_at = models.DateTimeField(null=True, blank=True)
    dismiss_reason = models.TextField(_("reason for dismissal"), blank=True)
    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts", verbose_name=_("incident")
    )

    ward_view_roles = ALERT_ROLES
    ward_change_roles = ALERT_ROLES

    class Meta:
        ordering = ["-raised_at", "-id"]
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        indexes = [
            models.Index(fields=["ward", "status", "-raised_at"], name="alert_ward_status_time"),
            models.Index(fields=["camera", "type", "-last_seen_at"], name="alert_grouping"),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} · {self.camera_id} · {self.raised_at:%Y-%m-%d %H:%M}"


class AlertEvent(WardOwned):
    """One thing that happened to an alert; the sequence pushed to browsers and replayed on reconnect."""

    class Kind(models.TextChoices):
        RAISED = "raised", _("Raised")
        GROUPED = "grouped", _("Repeated (grouped)")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        ASSIGNED = "assigned", _("Assigned")
        NOTED = "noted", _("Note added")
        ESCALATED = "escalated", _("Escalated")
        DISMISSED = "dismissed", _("Dismissed")

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("event"), max_length=14, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    note = models.TextField(_("note"), blank=True)
    at = models.DateTimeField(_("when"))

    ward_view_roles = ALERT_ROLES

    class Meta:
        ordering = ["id"]
        verbose_name = _("alert event")
        verbose_name_plural = _("alert events")
        indexes = [models.Index(fields=["ward", "id"], name="alertevent_ward_seq")]

    def __str__(self) -> str:
        return f"{self.alert_id} {self.kind}"


class Webhook(WardOwned):
    """Where a ward's alert events are POSTed for another system, signed with the hook's secret."""

    name = models.CharField(_("name"), max_length=120)
    url = models.CharField(_("URL"), max_length=500, help_text=_("https:// (or http://) address that receives the events."))
    secret = EncryptedTextField(_("secret"), help_text=_("Key of the HMAC-SHA256 signature in X-MatThan-Signature."))
    event_kinds = models.JSONField(
        _("event kinds"), default=list, blank=True, help_text=_("Alert event kinds to send; empty sends every kind.")
    )
    min_severity = models.PositiveSmallIntegerField(_("minimum severity"), choices=Severity.choices, default=Severity.LOW)
    active = models.BooleanField(_("active"), default=True)
    allow_internal = models.BooleanField(
        _("allow internal addresses"),
        default=False,
        help_text=_("Let this hook reach loopback, private or link-local addresses (a receiver inside the city network)."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    ward_view_roles = frozenset({"admin"})
    ward_change_roles = frozenset({"admin"})

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")
        constraints = [
            models.UniqueConstraint(
                fields=["ward", "name"],
                name="webhook_unique_name_per_ward",
                violation_error_message=_("This ward already has a webhook with this name."),
            )
        ]

    def __str__(self) -> str:
        return self.name

    def wants(self, kind: str, severity: int) -> bool:
        """Whether an event of ``kind`` on an alert of ``severity`` goes to this hook."""
        return severity >= self.min_severity and (not self.event_kinds or kind in self.event_kinds)


class WebhookDelivery(WardOwned):
    """One event (or a ping) sent to one webhook: the delivery log, and the state its retries work from."""

    PING = "ping"

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("webhook"))
    event = models.ForeignKey(
        AlertEvent, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("alert event")
    )
    kind = models.CharField(_("event"), max_length=14, help_text=_("The alert event kind, or “ping” for a test delivery."))
    payload = models.JSONField(_("payload"), default=dict, help_text=_("The JSON body sent (signed as is)."))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_status_code = models.PositiveSmallIntegerField(_("last HTTP status"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    ward_view_roles = frozenset({"admin"})
    ward_change_roles = frozenset({"admin"})

    class Meta:
        ordering = ["-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            # An event is never delivered twice by the same hook (pings have no event: NULLs differ).
            models.UniqueConstraint(fields=["ward", "webhook", "event"], name="webhookdelivery_once_per_event"),
        ]
        indexes = [models.Index(fields=["webhook", "-id"], name="webhookdelivery_log")]

    def __str__(self) -> str:
        return f"{self.webhook_id} {self.kind} {self.status}"
