"""Writes for cameras, sites, sponsors and fundings; each validates, derives, saves and audits.

A camera's old ward and field-of-view sector are derived here from its position, heading, angle
and range, so the API, the pages, the import and the admin all store the same thing.
"""

from __future__ import annotations

import math
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from cameras.geometry import check_position, sector_polygon
from cameras.models import Camera
from cameras.validators import split_stream_url
from portal.models import OldWard
from portal.services import audit, client_ip

# A camera may stand on the street just across the ward line (~300 m in degrees at HCMC).
WARD_TOLERANCE_DEG = 0.003


def derive_camera(camera: Camera) -> None:
    """Validate position and stream URLs; fill ``fov``, ``old_ward`` and the credential fields.

    Raises ``ValidationError`` with a message per field naming what to fix.
    """
    errors: dict[str, list[str]] = {}
    for name, low, high in (("heading", 0, 360), ("fov_angle", 1, 360), ("range_m", 1, 1000)):
        value = getattr(camera, name)
        if not isinstance(value, int | float) or not math.isfinite(value) or not low <= value <= high:
            errors[name] = [_("Give a number from %(low)d to %(high)d.") % {"low": low, "high": high}]
    location = camera.location
    if location is None or location.empty or not all(math.isfinite(c) for c in location.coords[:2]):
        errors["location"] = [_("A camera needs a location (longitude and latitude).")]
    elif location.hasz:
        errors["location"] = [_("Give the location as a 2-D point: longitude and latitude only.")]
    else:
        problem = check_position(camera.location.x, camera.location.y)
        if problem:
            errors["location"] = [
                _("Location %(lon).6f, %(lat).6f: %(problem)s.")
                % {"lon": camera.location.x, "lat": camera.location.y, "problem": problem}
            ]
        elif camera.ward_id and not camera.ward.boundary.buffer(WARD_TOLERANCE_DEG).contains(camera.location):
            errors["location"] = [
                _("Location %(lon).6f, %(lat).6f is outside ward %(ward)s.")
                % {"lon": camera.location.x, "lat": camera.location.y, "ward": camera.ward.name}
            ]
    for field in ("main_stream_url", "sub_stream_url"):
        try:
            clean, user, password = split_stream_url(getattr(camera, field))
        except ValidationError as exc:
            errors[field] = list(exc.messages)
            continue
        setattr(camera, field, clean)
        # Credentials written into a URL move to the encrypted fields (replacing the stored ones,
        # since the user just typed them) and out of the URL.
        if user:
            camera.stream_username = user
        if password:
            camera.stream_password = password
    if errors:
        raise ValidationError(errors)
    assert camera.location is not None
    camera.fov = sector_polygon(camera.location, camera.heading, camera.fov_angle, camera.range_m)
    camera.old_ward = OldWard.objects.filter(ward_id=camera.ward_id, boundary__contains=camera.location).order_by("id").first()


def validate_camera(camera: Camera, *, exclude_unique: bool = False) -> None:
    """Everything a save would check, without saving (the import's dry run uses it).

    ``exclude_unique`` skips the code check for callers that check codes of many rows at once.
    """
    derive_camera(camera)
    if not exclude_unique and camera.code:
        taken = Camera.objects.filter(ward_id=camera.ward_id, code=camera.code).exclude(pk=camera.pk).exists()
        if taken:
            raise ValidationError({"code": [_("Camera code %(code)s is already used in this ward.") % {"code": camera.code}]})
    camera.full_clean(exclude=["fov"], validate_unique=False, validate_constraints=False)


@transaction.atomic
def save_camera(*, camera: Camera, actor: Any, request: Any = None, reason: str = "") -> Camera:
    created = camera.pk is None
    validate_camera(camera)
    camera.save()
    audit(
        action="camera_created" if created else "camera_changed",
        actor=actor,
        ward=camera.ward_id,
        obj=camera,
        reason=reason,
        ip=client_ip(request),
    )
    return camera


def queue_import(*, ward: Any, actor: Any, filename: str, data: bytes, dry_run: bool, request: Any = None) -> Any:
    """Store the file and hand it to a worker (after commit); the worker fills in the report."""
    import hashlib

    from django.core.files.base import ContentFile

    from cameras.importer import detect_format
    from cameras.models import CameraImport
    from workers.tasks import run_camera_import

    with transaction.atomic():
        job = CameraImport(
            ward=ward,
            created_by=actor,
            filename=filename[:200],
            format=detect_format(filename, data),
            sha256=hashlib.sha256(data).hexdigest(),
            dry_run=dry_run,
        )
        job.file.save(job.sha256, ContentFile(data), save=False)
        job.save()
        audit(
            action="camera_import_queued",
            actor=actor,
            ward=ward,
            obj=job,
            ip=client_ip(request),
            detail={"sha256": job.sha256, "dry_run": dry_run},
        )
        transaction.on_commit(lambda: run_camera_import.delay(job.pk))
    return job


def run_import(*, import_id: int) -> str:
    """Worker side of an import job. Safe to run twice: a finished job is left as it is, and the
    cameras and the job's final status are committed together, so a worker dying in between leaves
    the job to be run again from the start with nothing saved."""
    from django.utils import timezone

    from cameras.importer import ImportFileError, import_file
    from cameras.models import CameraImport
    from portal.models import Ward
    from portal.querysets import CHANGE

    with transaction.atomic():
        job = CameraImport.objects.select_for_update().select_related("ward", "created_by").filter(pk=import_id).first()
        if job is None or job.status in (CameraImport.Status.DONE, CameraImport.Status.REJECTED, CameraImport.Status.FAILED):
            return "skipped"
        CameraImport.objects.filter(pk=job.pk).update(status=CameraImport.Status.RUNNING)
    wards = list(Ward.objects.restrict(job.created_by, CHANGE))
    with transaction.atomic():
        try:
            with job.file.open("rb") as handle:
                data = handle.read()
            report = import_file(
                data=data, filename=job.filename, wards=wards, default_ward=job.ward, actor=job.created_by, dry_run=job.dry_run
            )
        except ImportFileError as exc:
            job.status = CameraImport.Status.REJECTED
            job.report = {"errors": [{"line": 0, "column": "file", "message": str(exc)}], "rows": 0, "saved": 0}
        else:
            job.report = report.as_dict()
            job.status = CameraImport.Status.DONE if report.ok else CameraImport.Status.REJECTED
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "report", "finished_at"])
    return str(job.status)


def record_reachability(*, camera_id: int, reachable: bool) -> str:
    """Set an online/offline camera's status from a probe; raise an alert when it drops or returns."""
    from analytics.models import AlertType
    from analytics.services import raise_alert

    with transaction.atomic():
        camera = Camera.objects.select_for_update().filter(pk=camera_id).first()
        if camera is None or camera.status not in (Camera.Status.ONLINE, Camera.Status.OFFLINE):
            return "skipped"
        new = Camera.Status.ONLINE if reachable else Camera.Status.OFFLINE
        if camera.status == new:
            return "unchanged"
        camera.status = new
        camera.save(update_fields=["status", "updated_at"])
        audit(action="camera_status_changed", ward=camera.ward_id, obj=camera, detail={"status": new, "by": "health check"})
        raise_alert(camera=camera, type=AlertType.CAMERA_ONLINE if reachable else AlertType.CAMERA_OFFLINE)
        return new
