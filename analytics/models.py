"""Alerts: the durable log of what needs an officer's attention, and its history of events.

Every alert is written here first; what browsers and other systems receive are ``AlertEvent`` rows
(raised, grouped, acknowledged, ...) pushed after commit. The event id is the sequence number a
reconnecting client gives to get what it missed.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from cameras.fields import EncryptedTextField
from portal.models import WardOwned

ALERT_ROLES = frozenset({"operator", "investigator", "admin"})
#: Who sees what the pipeline found (tracks, plate reads, clip jobs); face sightings are narrower.
RESULT_ROLES = frozenset({"operator", "investigator", "admin"})


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

    # Empty only for an alert raised in a ward other than the one whose camera saw it (a watchlist hit
    # in another covered ward): wards never share rows, so the sighting is described in ``details``.
    camera = models.ForeignKey(
        "cameras.Camera", on_delete=models.PROTECT, null=True, blank=True, related_name="alerts", verbose_name=_("camera")
    )
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
    job = models.ForeignKey(
        "analytics.ClipJob",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="alerts",
        verbose_name=_("clip analysis"),
        help_text=_("Set when a rule fired on an uploaded clip: such alerts are shown on the clip, not pushed live."),
    )
    details = models.JSONField(
        _("details"), default=dict, blank=True, help_text=_("What the rule saw: zone, line, direction, tracks, model.")
    )
    client_id = models.CharField(
        max_length=120, blank=True, help_text=_("Set by workers so that a retried job never raises the same hit twice.")
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
        constraints = [
            models.UniqueConstraint(
                fields=["ward", "client_id"], condition=~models.Q(client_id=""), name="alert_unique_client_id_per_ward"
            )
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


# --- What the pipeline is told (per camera) and what it finds ------------------------------------


class AnalysisSettings(WardOwned):
    """How one camera is analysed: models, plates, faces, and the masks, zones, lines and rules drawn
    on its snapshot (image pixels). ``masks``/``zones``/``lines``/``rules`` are validated together as
    :class:`analytics.pipeline.config.PipelineConfig` by ``analytics.vision.pipeline_config``."""

    camera = models.OneToOneField("cameras.Camera", on_delete=models.CASCADE, related_name="analysis", verbose_name=_("camera"))
    live = models.BooleanField(_("analyse the live stream"), default=False)
    detectors = models.JSONField(
        _("models"), default=list, blank=True, help_text=_("Names of the vision models to run; empty: the default model.")
    )
    read_plates = models.BooleanField(_("read licence plates"), default=True)
    detect_faces = models.BooleanField(
        _("detect faces"), default=False, help_text=_("Only takes effect where the ward has enabled face detection.")
    )
    record = models.BooleanField(_("record footage"), default=False)
    segment_seconds = models.PositiveIntegerField(
        _("segment length (s)"), default=60, validators=[MinValueValidator(2), MaxValueValidator(3600)]
    )
    image_width = models.PositiveIntegerField(_("image width (px)"), null=True, blank=True)
    image_height = models.PositiveIntegerField(_("image height (px)"), null=True, blank=True)
    masks = models.JSONField(_("masks"), default=list, blank=True)
    zones = models.JSONField(_("zones"), default=list, blank=True)
    lines = models.JSONField(_("lines"), default=list, blank=True)
    rules = models.JSONField(_("rules"), default=list, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    ward_view_roles = RESULT_ROLES
    ward_change_roles = frozenset({"admin"})

    class Meta:
        verbose_name = _("analysis settings")
        verbose_name_plural = _("analysis settings")

    def __str__(self) -> str:
        return f"{self.camera_id}"


def clip_upload_path(instance: ClipJob, filename: str) -> str:
    return f"clips/{instance.ward_id}/{instance.token}.bin"


class ClipJob(WardOwned):
    """An uploaded clip analysed by a worker. Results (tracks, plate reads, sightings, alerts) carry
    the job, and each has a key unique per job, so a retried job never writes a row twice."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    FINISHED = frozenset({Status.DONE, Status.FAILED, Status.CANCELLED})

    token = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    camera = models.ForeignKey(
        "cameras.Camera", on_delete=models.SET_NULL, null=True, blank=True, related_name="clip_jobs", verbose_name=_("camera")
    )
    file = models.FileField(_("file"), upload_to=clip_upload_path, max_length=300)
    filename = models.CharField(_("file name"), max_length=200)
    size = models.BigIntegerField(_("size (bytes)"), default=0)
    recorded_at = models.DateTimeField(
        _("recorded at"), help_text=_("When the footage starts; times of results are counted from here.")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    cancel_requested = models.BooleanField(_("cancel requested"), default=False)
    error_code = models.CharField(max_length=40, blank=True)
    error = models.TextField(_("error"), blank=True)
    model = models.CharField(_("model"), max_length=200, blank=True, help_text=_("The vision model(s) that ran."))
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # The running attempt's lease: which worker process holds the job, and when it last said so.
    worker = models.CharField(_("worker"), max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    ward_view_roles = RESULT_ROLES
    ward_change_roles = RESULT_ROLES

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("clip analysis")
        verbose_name_plural = _("clip analyses")

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display()})"

    @property
    def finished(self) -> bool:
        return self.status in self.FINISHED


class TrackClass(models.TextChoices):
    PERSON = "person", _("person")
    BICYCLE = "bicycle", _("bicycle")
    MOTORBIKE = "motorbike", _("motorbike")
    CAR = "car", _("car")
    BUS = "bus", _("bus")
    TRUCK = "truck", _("truck")
    OTHER_VEHICLE = "other_vehicle", _("other vehicle")
    OTHER = "other", _("other object")


class Observation(WardOwned):
    """What the pipeline saw, from a clip job or a live stream. ``source`` names the run (``job:12``,
    ``live:7:<session>``) and ``key`` the object within it: the pair is unique, so writing twice is harmless."""

    camera = models.ForeignKey(
        "cameras.Camera", on_delete=models.CASCADE, null=True, blank=True, related_name="%(class)ss", verbose_name=_("camera")
    )
    job = models.ForeignKey(
        ClipJob, on_delete=models.CASCADE, null=True, blank=True, related_name="%(class)ss", verbose_name=_("clip analysis")
    )
    source = models.CharField(max_length=80)
    key = models.CharField(max_length=80)
    model = models.CharField(_("model"), max_length=200, blank=True)

    class Meta:
        abstract = True


class Track(Observation):
    """One tracked object, summarised: its class, when it was first and last seen, and its path."""

    cls = models.CharField(_("class"), max_length=16, choices=TrackClass.choices)
    first_seen = models.DateTimeField(_("first seen"), db_index=True)
    last_seen = models.DateTimeField(_("last seen"))
    dwell_s = models.FloatField(_("dwell (s)"), default=0)
    direction = models.CharField(_("direction"), max_length=8, blank=True)
    confidence = models.FloatField(_("confidence"), default=0)
    path = models.JSONField(
        _("path"), default=list, blank=True, help_text=_("[seconds from the first sighting, x, y] in image pixels, sampled.")
    )

    ward_view_roles = RESULT_ROLES

    class Meta:
        ordering = ["-first_seen", "-id"]
        verbose_name = _("track")
        verbose_name_plural = _("tracks")
        constraints = [models.UniqueConstraint(fields=["source", "key"], name="track_unique_per_run")]
        indexes = [models.Index(fields=["ward", "camera", "-first_seen"], name="track_ward_camera_time")]

    def __str__(self) -> str:
        return f"{self.cls} {self.key}"


class PlateRead(Observation):
    """A licence plate seen by a camera: as read, its display text, its search key and the crop.

    Reads come from the pipeline (clip jobs, live streams), from edge cameras that read plates
    themselves (``POST /api/plate-reads/``, ``source`` ``client:<ward id>`` and ``key`` the client's
    id, so a resend is harmless) or are typed in by hand. Searched by investigators only
    (``analytics/plates/search.py``); reads not linked to a case are deleted after the ward's
    retention (``analytics/plates/store.py``).
    """

    class Origin(models.TextChoices):
        PIPELINE = "pipeline", _("analysis pipeline")
        EDGE = "edge", _("edge camera")
        MANUAL = "manual", _("entered by hand")

    plate = models.CharField(_("plate as read"), max_length=32)
    text = models.CharField(_("plate"), max_length=32, help_text=_("As the Vietnamese plate grammar reads it, e.g. 51F-123.45."))
    search_key = models.CharField(_("search key"), max_length=32, db_index=True)
    confidence = models.FloatField(_("confidence"), validators=[MinValueValidator(0), MaxValueValidator(1)])
    seen_at = models.DateTimeField(_("seen at"), db_index=True)
    crop = models.ImageField(_("plate image"), upload_to="plates/%Y/%m/%d", blank=True)
    track = models.ForeignKey(Track, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    vehicle_class = models.CharField(_("vehicle class"), max_length=16, choices=TrackClass.choices, blank=True)
    origin = models.CharField(_("origin"), max_length=10, choices=Origin.choices, default=Origin.PIPELINE)

    # Any list of reads is a look at who drove where: investigators and admins only (DESIGN.md §3, §7).
    # Operators still see the reads of a clip they analysed on its page, and post reads from edge cameras.
    ward_view_roles = frozenset({"investigator", "admin"})
    # Edge cameras post reads with an operator's (or a service account's) token.
    ward_change_roles = frozenset({"operator", "admin"})

    class Meta:
        ordering = ["-seen_at", "-id"]
        verbose_name = _("plate read")
        verbose_name_plural = _("plate reads")
        constraints = [models.UniqueConstraint(fields=["source", "key"], name="plateread_unique_per_run")]
        # On PostgreSQL a trigram index on (ward, search_key) serves partial search (migration 0007).
        indexes = [
            models.Index(fields=["ward", "search_key", "-seen_at"], name="plateread_ward_key_time"),
            models.Index(fields=["ward", "-seen_at"], name="plateread_ward_time"),
        ]

    def __str__(self) -> str:
        return f"{self.text} · {self.seen_at:%Y-%m-%d %H:%M}"


class FaceSighting(Observation):
    """A face seen by a camera of a ward that enabled faces: a 128-d embedding and the crop (DESIGN.md §7)."""

    seen_at = models.DateTimeField(_("seen at"), db_index=True)
    confidence = models.FloatField(_("confidence"), default=0)
    embedding = models.JSONField(_("embedding"), default=list, help_text=_("128 numbers (dlib ResNet face descriptor)."))
    crop = models.ImageField(_("face image"), upload_to="faces/%Y/%m/%d", blank=True)
    track = models.ForeignKey(Track, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    ward_view_roles = frozenset({"investigator", "admin"})

    class Meta:
        ordering = ["-seen_at", "-id"]
        verbose_name = _("face sighting")
        verbose_name_plural = _("face sightings")
        constraints = [models.UniqueConstraint(fields=["source", "key"], name="facesighting_unique_per_run")]

    def __str__(self) -> str:
        return f"face {self.key} · {self.seen_at:%Y-%m-%d %H:%M}"
