"""Case files, their evidence and the chain of custody (DESIGN.md §6).

Who may do what
---------------
* **Cases** (``Incident``): operators, investigators and admins of the ward read them (operators open
  draft cases by escalating alerts, through ``analytics.services.escalate``); investigators and admins
  create, edit and move them through the workflow. Officials see no case files.
* **Evidence** and the **custody log**: investigators and admins only. Every view, download and
  export of an evidence item writes a custody entry.

The custody chain
-----------------
Each case has its own hash chain of ``CustodyEntry`` rows. ``seq`` counts 1, 2, … within the case;
the first entry's ``prev_hash`` is 64 zeros and every later one holds the ``hash`` of the entry
before it. An entry's ``hash`` is the SHA-256 (lower-case hex) of the canonical JSON of exactly these
fields, as ``CustodyEntry.payload()`` returns them and ``incidents.services.custody_log`` exports them::

    {"seq": int, "case": "<case number>", "evidence": <evidence id or null>,
     "evidence_sha256": "<hex or empty string>", "at": "<ISO 8601, UTC, as datetime.isoformat()>",
     "actor": "<username>", "action": "<action>", "reason": "<text>", "detail": {...},
     "prev_hash": "<64 hex>"}

Canonical JSON = ``json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))``
encoded as UTF-8. A verifier without Django re-hashes each exported dict (all keys but ``hash``),
compares with its ``hash`` and checks that ``prev_hash`` equals the previous entry's ``hash``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.contrib.gis.db import models
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# The hash rules live in the stand-alone verifier, so the portal and anyone checking a bundle use one definition.
from incidents.verify import canonical_json
from portal.models import WardOwned

CASE_VIEW_ROLES = frozenset({"operator", "investigator", "admin"})
CASE_CHANGE_ROLES = frozenset({"investigator", "admin"})
EVIDENCE_ROLES = frozenset({"investigator", "admin"})


class Incident(WardOwned):
    """A case file: numbered per ward and year, with a status workflow, evidence and custody log."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open")
        INVESTIGATING = "investigating", _("Investigating")
        CLOSED = "closed", _("Closed")
        REFERRED = "referred", _("Referred")

    class Type(models.TextChoices):
        SNATCHING = "snatching", _("Snatching or theft")
        TRAFFIC = "traffic_accident", _("Traffic accident")
        ENCROACHMENT = "encroachment", _("Encroachment")
        FIGHT = "fight", _("Fight")
        MISSING = "missing_person", _("Missing person")
        OTHER = "other", _("Other")

    number = models.CharField(_("number"), max_length=32, blank=True, help_text=_("Per ward and year, e.g. TNP-2026-0001."))
    type = models.CharField(_("type"), max_length=20, choices=Type.choices, default=Type.OTHER)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    title = models.CharField(_("title"), max_length=200)
    narrative = models.TextField(_("narrative"), blank=True)
    location = models.PointField(_("location"), srid=4326, null=True, blank=True)
    camera = models.ForeignKey(
        "cameras.Camera", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("camera")
    )
    cameras = models.ManyToManyField("cameras.Camera", blank=True, related_name="cases", verbose_name=_("cameras"))
    plate_reads = models.ManyToManyField("analytics.PlateRead", blank=True, related_name="cases", verbose_name=_("plate reads"))
    investigators = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="assigned_cases", verbose_name=_("investigators")
    )
    occurred_at = models.DateTimeField(_("occurred at"))
    closing_note = models.TextField(_("closing note"), blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    hold_released_at = models.DateTimeField(_("evidence hold released at"), null=True, blank=True)
    hold_released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    ward_view_roles = CASE_VIEW_ROLES
    ward_change_roles = CASE_CHANGE_ROLES

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        constraints = [models.UniqueConstraint(fields=["ward", "number"], name="incident_unique_number_per_ward")]
        indexes = [models.Index(fields=["ward", "status", "-created_at"], name="incident_ward_status")]

    def __str__(self) -> str:
        return f"{self.number} {self.title}".strip()

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.CLOSED, self.Status.REFERRED)

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Every case gets its number, however it was made (drafts from escalated alerts too).
        if not self.number:
            self.number = allocate_number(ward=self.ward, year=timezone.localtime().year)
        super().save(*args, **kwargs)


class CaseCounter(WardOwned):
    """The last case number given out in a ward and year; rows are locked while a number is taken."""

    year = models.PositiveIntegerField(_("year"))
    last = models.PositiveIntegerField(_("last number"), default=0)

    ward_view_roles = CASE_CHANGE_ROLES
    ward_change_roles = frozenset({"admin"})

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ward", "year"], name="casecounter_unique_ward_year")]

    def __str__(self) -> str:
        return f"{self.ward_id} {self.year}: {self.last}"


def allocate_number(*, ward: Any, year: int) -> str:
    """Take the next case number of ``ward`` in ``year``: ``{ward.code}-{year}-{seq:04d}``.

    The counter row is locked while the number is taken, so two cases never share one.
    """
    with transaction.atomic():
        counter, _created = CaseCounter.objects.get_or_create(ward_id=ward.pk, year=year)
        counter = CaseCounter.objects.select_for_update().get(pk=counter.pk)
        counter.last += 1
        counter.save(update_fields=["last"])
    return f"{ward.code}-{year}-{counter.last:04d}"


def evidence_path(sha256: str, ext: str) -> str:
    """Content-addressed storage name: the same bytes always land at the same name."""
    return f"evidence/{sha256[:2]}/{sha256[2:4]}/{sha256}.{ext}"


class Evidence(WardOwned):
    """A clip, snapshot or upload held for a case. The file is immutable and stored by its SHA-256."""

    class Kind(models.TextChoices):
        CLIP = "clip", _("Clip")
        SNAPSHOT = "snapshot", _("Snapshot")
        UPLOAD = "upload", _("Upload")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")

    case = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="evidence", verbose_name=_("case"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(_("error"), blank=True)
    camera = models.ForeignKey(
        "cameras.Camera", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("camera")
    )
    requested_start = models.DateTimeField(_("requested start"), null=True, blank=True)
    requested_end = models.DateTimeField(_("requested end"), null=True, blank=True)
    true_start = models.DateTimeField(_("true start"), null=True, blank=True)
    true_end = models.DateTimeField(_("true end"), null=True, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True, db_index=True)
    size = models.BigIntegerField(_("size (bytes)"), default=0)
    content_type = models.CharField(_("content type"), max_length=100, blank=True)
    file = models.FileField(_("file"), max_length=200, blank=True)
    original_name = models.CharField(_("original name"), max_length=255, blank=True)
    note = models.TextField(_("note"), blank=True)
    segments = models.ManyToManyField(
        "cameras.RecordingSegment", blank=True, related_name="evidence", verbose_name=_("recording segments")
    )
    source_alert = models.ForeignKey("analytics.Alert", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    ready_at = models.DateTimeField(_("ready at"), null=True, blank=True)

    ward_view_roles = EVIDENCE_ROLES
    ward_change_roles = EVIDENCE_ROLES

    class Meta:
        ordering = ["case", "requested_start", "created_at", "id"]
        verbose_name = _("evidence item")
        verbose_name_plural = _("evidence")
        indexes = [models.Index(fields=["case", "status"], name="evidence_case_status")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


#: How custody actions read on the case page (the stored ``action`` is the code).
CUSTODY_ACTIONS = {
    "requested": _("requested"),
    "intake": _("taken in"),
    "failed": _("failed"),
    "view": _("viewed"),
    "download": _("downloaded"),
    "export": _("exported"),
    "export_download": _("export downloaded"),
    "status_changed": _("status changed"),
    "hold_released": _("hold released"),
}


class CustodyEntry(WardOwned):
    """One line of a case's chain of custody, chained to the case's previous line by SHA-256.

    Written only by ``incidents.services.record_custody`` and never updated; ``manage.py verify_custody``
    re-computes every chain. The hashed fields are listed in the module docstring.
    """

    case = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="custody", verbose_name=_("case"))
    seq = models.PositiveIntegerField(_("sequence"))
    evidence = models.ForeignKey(
        Evidence, on_delete=models.PROTECT, null=True, blank=True, related_name="custody", verbose_name=_("evidence")
    )
    evidence_sha256 = models.CharField(max_length=64, blank=True)
    case_number = models.CharField(max_length=32)
    at = models.DateTimeField(_("when"))
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    actor_name = models.CharField(_("who"), max_length=150)
    action = models.CharField(_("action"), max_length=40)
    reason = models.TextField(_("reason"), blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    ward_view_roles = EVIDENCE_ROLES
    ward_change_roles: frozenset[str] = frozenset()  # written only by record_custody

    class Meta:
        ordering = ["case", "seq"]
        verbose_name = _("custody entry")
        verbose_name_plural = _("chain of custody")
        constraints = [models.UniqueConstraint(fields=["case", "seq"], name="custody_unique_seq_per_case")]

    def __str__(self) -> str:
        return f"{self.case_number} #{self.seq} {self.action}"

    @property
    def action_label(self) -> str:
        return str(CUSTODY_ACTIONS.get(self.action, self.action))

    def payload(self) -> dict[str, Any]:
        """Exactly the hashed fields, as exported (see the module docstring)."""
        return {
            "seq": self.seq,
            "case": self.case_number,
            "evidence": self.evidence_id,
            "evidence_sha256": self.evidence_sha256,
            "at": self.at.isoformat(),
            "actor": self.actor_name,
            "action": self.action,
            "reason": self.reason,
            "detail": self.detail,
            "prev_hash": self.prev_hash,
        }

    def compute_hash(self) -> str:
        return hashlib.sha256(canonical_json(self.payload())).hexdigest()


EXPORT_ROLES = frozenset({"investigator", "admin"})


class ExportJob(WardOwned):
    """One export of a case: queued, run by a worker with progress, then a bundle to download."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    case = models.ForeignKey("incidents.Incident", on_delete=models.PROTECT, related_name="exports", verbose_name=_("case"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    redacted = models.BooleanField(
        _("redacted"), default=False, help_text=_("Faces and plates blurred in the exported media, for public release.")
    )
    reason = models.TextField(_("reason"))
    file = models.FileField(_("bundle"), max_length=200, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    size = models.BigIntegerField(_("size (bytes)"), default=0)
    key_fingerprint = models.CharField(_("key fingerprint"), max_length=80, blank=True)
    error = models.TextField(_("error"), blank=True)
    missing = models.JSONField(_("missing media"), default=list, blank=True)
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    ward_view_roles = EXPORT_ROLES
    ward_change_roles = EXPORT_ROLES

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        indexes = [models.Index(fields=["case", "-created_at"], name="exportjob_case_created")]

    def __str__(self) -> str:
        return f"{self.case} · {self.get_status_display()}"
