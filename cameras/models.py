"""Cameras, AI sites, sponsors and their funding. Every row is ward-owned."""

from __future__ import annotations

from django.contrib.gis.db import models
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from cameras.fields import EncryptedTextField
from portal.models import OldWard, WardOwned


class Site(WardOwned):
    """An AI installation area (the centre's 9 sites in the demo ward)."""

    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=160)
    address = models.CharField(_("address"), max_length=250, blank=True)
    location = models.PointField(_("location"), srid=4326, null=True, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("AI site")
        verbose_name_plural = _("AI sites")
        constraints = [models.UniqueConstraint(fields=["ward", "code"], name="site_unique_code_per_ward")]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class Sponsor(WardOwned):
    """An organisation that pays for cameras."""

    name = models.CharField(_("name"), max_length=200)
    website = models.URLField(_("website"), blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("sponsor")
        verbose_name_plural = _("sponsors")
        constraints = [models.UniqueConstraint(fields=["ward", "name"], name="sponsor_unique_name_per_ward")]

    def __str__(self) -> str:
        return self.name


class Camera(WardOwned):
    class Kind(models.TextChoices):
        AI = "ai", _("AI camera")
        REGULAR = "regular", _("Regular camera")

    class Programme(models.TextChoices):
        AI_CENTRE = "ai_centre", _("AI centre")
        CITY = "city", _("Earlier city programme")
        OLD_WARD = "old_ward", _("Old-ward scheme")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        ONLINE = "online", _("Online")
        OFFLINE = "offline", _("Offline")
        MAINTENANCE = "maintenance", _("Maintenance")
        TO_RESTORE = "to_restore", _("To restore")

    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=160)
    address = models.CharField(_("address"), max_length=250, blank=True)
    location = models.PointField(_("location"), srid=4326)
    old_ward = models.ForeignKey(
        OldWard, on_delete=models.SET_NULL, null=True, blank=True, editable=False, verbose_name=_("old ward")
    )
    heading = models.FloatField(
        _("heading (°)"),
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(360)],
        help_text=_("Direction the camera looks, degrees clockwise from north."),
    )
    fov_angle = models.FloatField(
        _("field-of-view angle (°)"), default=90, validators=[MinValueValidator(1), MaxValueValidator(360)]
    )
    range_m = models.FloatField(_("range (m)"), default=50, validators=[MinValueValidator(1), MaxValueValidator(1000)])
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.REGULAR)
    programme = models.CharField(_("programme"), max_length=12, choices=Programme.choices, default=Programme.OTHER)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PLANNED)
    site = models.ForeignKey(
        Site, on_delete=models.SET_NULL, null=True, blank=True, related_name="cameras", verbose_name=_("AI site")
    )
    sponsor = models.ForeignKey(
        Sponsor, on_delete=models.SET_NULL, null=True, blank=True, related_name="cameras", verbose_name=_("sponsor")
    )
    installed_on = models.DateField(_("installed on"), null=True, blank=True)
    cost_vnd = models.BigIntegerField(_("cost (VND)"), null=True, blank=True, validators=[MinValueValidator(0)])
    main_stream_url = models.CharField(_("main stream URL"), max_length=500, blank=True)
    sub_stream_url = models.CharField(_("sub stream URL"), max_length=500, blank=True)
    stream_username = EncryptedTextField(_("stream username"), blank=True)
    stream_password = EncryptedTextField(_("stream password"), blank=True)
    retention_days = models.PositiveIntegerField(
        _("retention (days)"), default=30, validators=[MinValueValidator(1), MaxValueValidator(3650)]
    )
    analysis_fps = models.FloatField(_("analysis fps"), default=5, validators=[MinValueValidator(0.1), MaxValueValidator(30)])
    fov = models.PolygonField(_("field of view"), srid=4326, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("camera")
        verbose_name_plural = _("cameras")
        constraints = [models.UniqueConstraint(fields=["ward", "code"], name="camera_unique_code_per_ward")]
        indexes = [
            models.Index(fields=["ward", "status"], name="camera_ward_status"),
            models.Index(fields=["ward", "programme"], name="camera_ward_programme"),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"

    @property
    def has_stream_credentials(self) -> bool:
        return bool(self.stream_username or self.stream_password)


class Funding(WardOwned):
    """Money a sponsor gave, and the cameras it paid for."""

    sponsor = models.ForeignKey(Sponsor, on_delete=models.PROTECT, related_name="fundings", verbose_name=_("sponsor"))
    amount_vnd = models.BigIntegerField(_("amount (VND)"), validators=[MinValueValidator(0)])
    date = models.DateField(_("date"))
    note = models.TextField(_("note"), blank=True)
    cameras = models.ManyToManyField(Camera, blank=True, related_name="fundings", verbose_name=_("cameras"))

    class Meta:
        ordering = ["-date", "id"]
        verbose_name = _("funding")
        verbose_name_plural = _("fundings")

    def __str__(self) -> str:
        return f"{self.sponsor} · {self.amount_vnd:,} VND · {self.date}"


def import_upload_path(instance: CameraImport, filename: str) -> str:
    return f"imports/{instance.ward_id}/{instance.sha256}.{instance.format}"


class CameraImport(WardOwned):
    """A legacy camera file checked (and, unless a dry run, imported) by a worker: all rows or none."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        REJECTED = "rejected", _("Rejected: the file has errors, nothing saved")
        FAILED = "failed", _("Failed")

    created_by = models.ForeignKey("auth.User", on_delete=models.PROTECT, related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    filename = models.CharField(_("file name"), max_length=200)
    format = models.CharField(_("format"), max_length=10)
    sha256 = models.CharField(max_length=64)
    file = models.FileField(upload_to=import_upload_path)
    dry_run = models.BooleanField(_("dry run"), default=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    report = models.JSONField(_("report"), default=dict, blank=True)

    ward_view_roles = frozenset({"admin"})

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("camera import")
        verbose_name_plural = _("camera imports")

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display()})"


def segment_path(camera: Camera, started: str) -> str:
    return f"recordings/{camera.ward_id}/{camera.pk}/{started}.mkv"


class RecordingSegment(WardOwned):
    """A piece of a camera's footage, written by ffmpeg as a stream copy (no re-encoding).

    ``locked`` is the evidence hold: a case file that cites the segment sets it, and retention never
    deletes a locked segment, whatever its age."""

    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="segments", verbose_name=_("camera"))
    path = models.CharField(_("file"), max_length=300, help_text=_("Relative to the media folder."))
    started_at = models.DateTimeField(_("starts at"))
    ended_at = models.DateTimeField(_("ends at"))
    size = models.BigIntegerField(_("size (bytes)"), default=0)
    locked = models.BooleanField(_("held as evidence"), default=False)

    ward_view_roles = frozenset({"operator", "investigator", "admin"})
    ward_change_roles = frozenset({"investigator", "admin"})

    class Meta:
        ordering = ["camera", "-started_at"]
        verbose_name = _("recording segment")
        verbose_name_plural = _("recording segments")
        constraints = [models.UniqueConstraint(fields=["camera", "path"], name="segment_unique_path")]
        indexes = [models.Index(fields=["camera", "started_at"], name="segment_camera_time")]

    def __str__(self) -> str:
        return f"{self.camera_id} {self.started_at:%Y-%m-%d %H:%M:%S}"
