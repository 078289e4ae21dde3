"""Exports of a case (DESIGN.md §6): queue a job, run it in a worker, hand out the bundle.

The bundle (``incidents.bundle``) holds every ready evidence item with C2PA credentials, a manifest of
hashes with the case's custody log, and the Ed25519 signature of the manifest; ``incidents.verify``
checks it without the portal. Every exported file and the case get a custody entry (who, why) in the
same transaction that signs the manifest, so the log in the bundle already shows the export itself;
every download of a bundle adds one more.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from incidents.bundle import BundleWriter, MediaItem
from incidents.keys import deployment_keys
from incidents.models import EXPORT_ROLES, Evidence, ExportJob, Incident
from portal.models import Membership
from portal.services import audit, client_ip

log = logging.getLogger(__name__)
PROGRESS_EVERY_S = 0.5
EXTENSIONS = {
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/x-matroska": "mkv",
    "video/x-msvideo": "avi",
    "image/jpeg": "jpg",
    "image/png": "png",
}


def may_export(user: Any, ward_id: int) -> bool:
    """Investigators and admins of the ward (superusers anywhere) may export its cases."""
    if getattr(user, "is_superuser", False):
        return True
    return Membership.objects.filter(user=user, ward_id=ward_id, role__in=EXPORT_ROLES).exists()


@dataclass(frozen=True)
class Missing:
    evidence: int
    kind: str
    why: str

    def as_dict(self) -> dict[str, Any]:
        return {"evidence": self.evidence, "kind": self.kind, "why": self.why}


def _path(evidence: Evidence) -> Path | None:
    if not evidence.file:
        return None
    try:
        return Path(default_storage.path(evidence.file.name))
    except NotImplementedError:  # remote storage: not supported by exports yet
        return None


def missing_media(case: Incident) -> list[Missing]:
    """Evidence of ``case`` that cannot be exported: still being cut, or its file gone or changed in size.

    A request that failed (no recording for the window) never held media: it does not block the
    export and is listed in the manifest as unavailable (``unavailable_evidence``).
    """
    missing: list[Missing] = []
    for evidence in case.evidence.exclude(status=Evidence.Status.FAILED).order_by("id"):
        if evidence.status != Evidence.Status.READY:
            why = _("not ready (%(status)s)") % {"status": evidence.get_status_display()}
        else:
            path = _path(evidence)
            if path is None or not path.is_file():
                why = _("its file is missing from storage")
            elif path.stat().st_size != evidence.size:
                why = _("its file has %(size)s bytes, %(expected)s were recorded at intake") % {
                    "size": path.stat().st_size,
                    "expected": evidence.size,
                }
            else:
                continue
        missing.append(Missing(evidence=evidence.pk, kind=evidence.kind, why=why))
    return missing


def unavailable_evidence(case: Incident) -> list[dict[str, Any]]:
    """Evidence requests that found nothing to keep, with why: the bundle says what it could not hold."""
    return [
        {
            "evidence": ev.pk,
            "kind": ev.kind,
            "camera": ev.camera.code if ev.camera is not None else None,
            "requested_start": _iso(ev.requested_start),
            "requested_end": _iso(ev.requested_end),
            "error": ev.error,
        }
        for ev in case.evidence.select_related("camera").filter(status=Evidence.Status.FAILED).order_by("id")
    ]


def missing_message(missing: list[Missing]) -> str:
    return _("The case cannot be exported: %(count)s evidence item(s) missing: %(items)s.") % {
        "count": len(missing),
        "items": "; ".join(f"#{m.evidence} ({m.kind}): {m.why}" for m in missing),
    }


def queue_export(*, case: Incident, actor: Any, reason: str, redacted: bool = False, request: Any = None) -> ExportJob:
    """Ask a worker to export ``case``; ``reason`` is required (it goes into the custody log and the audit)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the case is exported (e.g. the request of the prosecutor's office).")]})
    if len(reason) > 2000:
        raise ValidationError({"reason": [_("Keep the reason under 2,000 characters.")]})
    from incidents.tasks import run_export_task

    with transaction.atomic():
        job = ExportJob.objects.create(ward_id=case.ward_id, case=case, reason=reason, redacted=bool(redacted), created_by=actor)
        audit(
            action="case_export_requested",
            actor=actor,
            ward=case.ward_id,
            obj=case,
            reason=reason,
            detail={"job": job.pk, "redacted": job.redacted},
            ip=client_ip(request),
        )
        transaction.on_commit(lambda: run_export_task.delay(job.pk))
    return job


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:40] or "x"


def case_facts(case: Incident) -> dict[str, Any]:
    location = case.location
    return {
        "ward": {"slug": case.ward.slug, "name": case.ward.name},
        "number": case.number,
        "title": case.title,
        "type": case.type,
        "status": case.status,
        "occurred_at": _iso(case.occurred_at),
        "location": {"longitude": location.x, "latitude": location.y} if location is not None else None,
        "narrative": case.narrative,
    }


def _items(case: Incident, evidence: list[Evidence], work: Path, *, redacted: bool) -> list[MediaItem]:
    items: list[MediaItem] = []
    for position, ev in enumerate(evidence, start=1):
        path = _path(ev)
        assert path is not None  # checked by missing_media
        ext = EXTENSIONS.get(ev.content_type) or (Path(ev.file.name).suffix.lstrip(".") or "bin")
        camera = ev.camera.code if ev.camera_id and ev.camera else None
        arcname = f"media/{position:03d}-{ev.kind}-{_slug(camera or 'upload')}{'-redacted' if redacted else ''}.{ext}"
        entry: dict[str, Any] = {
            "evidence": ev.pk,
            "kind": ev.kind,
            "content_type": ev.content_type,
            "camera": camera,
            "true_start": _iso(ev.true_start),
            "true_end": _iso(ev.true_end),
            "original_name": ev.original_name,
            "original_sha256": ev.sha256,
            "original_size": ev.size,
            "redacted": False,
        }
        assertion = {
            "case": case.number,
            "ward": case.ward.slug,
            "camera": camera,
            "kind": ev.kind,
            "evidence": ev.pk,
            "true_start": _iso(ev.true_start),
            "true_end": _iso(ev.true_end),
            "original_sha256": ev.sha256,
        }
        item = MediaItem(
            source=path, arcname=arcname, content_type=ev.content_type, entry=entry, assertion=assertion, original=path
        )
        if redacted:
            from incidents import redact

            if ev.content_type.startswith(("video/", "image/")):
                out = work / f"redacted-{position}.{'mp4' if ev.content_type.startswith('video/') else ext}"
                found = redact.redact_file(path, out, content_type=ev.content_type)
                item.source = out
                if ev.content_type.startswith("video/"):
                    item.content_type = "video/mp4"
                    item.arcname = arcname.rsplit(".", 1)[0] + ".mp4"
                entry |= {"redacted": True, "redaction": found.as_dict(), "content_type": item.content_type}
                assertion["redacted"] = True
                item.edits = [
                    {"action": "c2pa.redacted", "reason": "c2pa.PII.present", "description": "faces and plates blurred"}
                ]
        items.append(item)
    return items


def _claim(job_id: int) -> ExportJob | None:
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status not in (ExportJob.Status.QUEUED, ExportJob.Status.RUNNING):
            return None
        job.status = ExportJob.Status.RUNNING
        job.started_at = timezone.now()
        job.progress = 0
        job.save(update_fields=["status", "started_at", "progress"])
    return job


def _fail(job: ExportJob, message: str, missing: list[Missing] | None = None) -> ExportJob:
    job.status = ExportJob.Status.FAILED
    job.error = message
    job.missing = [m.as_dict() for m in missing or []]
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "missing", "finished_at"])
    audit(action="case_export_failed", actor=None, ward=job.ward_id, obj=job.case, detail={"job": job.pk, "error": message[:500]})
    return job


def run_export(*, job_id: int) -> ExportJob | None:
    """Build the bundle of a queued export (the worker's side; idempotent: a finished job is left alone)."""
    from incidents.services import custody_log, record_custody

    job = _claim(job_id)
    if job is None:
        return ExportJob.objects.filter(pk=job_id).first()
    case = Incident.objects.select_related("ward").get(pk=job.case_id)
    missing = missing_media(case)
    if missing:
        return _fail(job, missing_message(missing), missing)
    evidence = list(
        case.evidence.select_related("camera").filter(status=Evidence.Status.READY).order_by("true_start", "created_at", "id")
    )
    name = f"exports/{case.ward.slug}/{_slug(case.number or str(case.pk))}-{job.pk}{'-redacted' if job.redacted else ''}.zip"
    dest = Path(default_storage.path(name))
    keys = deployment_keys()
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S:
            last[0] = now
            ExportJob.objects.filter(pk=job.pk).update(progress=min(99, int(100 * done / max(total, 1))))

    work = Path(tempfile.mkdtemp(prefix="matthan-export-"))
    try:
        items = _items(case, evidence, work, redacted=job.redacted)
        total = sum(item.source.stat().st_size for item in items) or 1
        done = 0
        with BundleWriter(dest, keys) as writer:
            for item in items:
                writer.add(item)
                done += item.source.stat().st_size
                progress(done, total)
            exported_at = timezone.now()
            with transaction.atomic():
                by_id = {ev.pk: ev for ev in evidence}
                for entry in writer.entries:
                    record_custody(
                        case=case,
                        evidence=by_id[entry["evidence"]],
                        action="export",
                        actor=job.created_by,
                        reason=job.reason,
                        detail={"job": job.pk, "path": entry["path"], "sha256": entry["sha256"], "redacted": job.redacted},
                    )
                record_custody(
                    case=case,
                    action="export",
                    actor=job.created_by,
                    reason=job.reason,
                    detail={"job": job.pk, "files": len(writer.entries), "redacted": job.redacted},
                )
                facts = {
                    "case": case_facts(case),
                    "created_at": exported_at.isoformat(),
                    "created_by": job.created_by.get_username(),
                    "reason": job.reason,
                    "redacted": job.redacted,
                    "export": job.pk,
                    "unavailable_evidence": unavailable_evidence(case),
                }
                written = writer.finish(facts=facts, custody=custody_log(case))
                try:
                    job.status = ExportJob.Status.DONE
                    job.progress = 100
                    job.file.name = name
                    job.sha256 = written.sha256
                    job.size = written.size
                    job.key_fingerprint = keys.fingerprint
                    job.error = ""
                    job.missing = []
                    job.summary = {"files": len(writer.entries), "bytes": written.size}
                    job.finished_at = timezone.now()
                    job.save()
                    audit(
                        action="case_exported",
                        actor=job.created_by,
                        ward=job.ward_id,
                        obj=case,
                        reason=job.reason,
                        detail={"job": job.pk, "sha256": written.sha256, "files": len(writer.entries), "redacted": job.redacted},
                    )
                except BaseException:
                    dest.unlink(missing_ok=True)
                    raise
    except Exception as exc:
        log.exception("export %s failed", job.pk)
        dest.unlink(missing_ok=True)
        return _fail(
            job, _("The export failed: %(error)s. Try again; if it fails again, tell the administrator.") % {"error": exc}
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return job


def open_download(*, job: ExportJob, actor: Any, request: Any = None) -> Any:
    """Open a finished bundle for download and write the custody entry and audit line for it."""
    from incidents.services import record_custody

    if job.status != ExportJob.Status.DONE or not job.file:
        raise ValidationError({"status": [_("The export is not finished: it can be downloaded once its status is done.")]})
    handle = default_storage.open(job.file.name, "rb")
    with transaction.atomic():
        record_custody(
            case=job.case,
            action="export_download",
            actor=actor,
            reason=job.reason,
            detail={"job": job.pk, "sha256": job.sha256},
        )
        audit(
            action="case_export_downloaded",
            actor=actor,
            ward=job.ward_id,
            obj=job.case,
            reason=job.reason,
            detail={"job": job.pk, "sha256": job.sha256},
            ip=client_ip(request),
        )
    return handle


def verify_upload_limit() -> int:
    return int(settings.VERIFY_UPLOAD_MAX_BYTES)
