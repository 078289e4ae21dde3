"""Writes of a camera's analysis settings, its drawing snapshot and a ward's face switch (STYLE.md §3).

The settings are checked as the pipeline's own schema (``analytics.vision.pipeline_config``) before
they are stored, so a worker never meets a configuration it cannot run. The snapshot the zones are
drawn on is ``MEDIA_ROOT/live/<camera>.jpg`` when a stream supervisor writes one; otherwise an admin
uploads a still, kept at ``MEDIA_ROOT/analysis/<camera>.jpg`` (re-encoded, so no metadata is kept).
Every write is audited; turning faces on or off for a ward needs a reason (DESIGN.md §7).
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from analytics.models import AnalysisSettings
from cameras.models import Camera
from cameras.services import save_camera
from portal.models import Ward
from portal.services import audit, client_ip, save_owned

MAX_SNAPSHOT_BYTES = 10 * 1024 * 1024
MAX_SNAPSHOT_SIDE = 8192
GEOMETRY_FIELDS = ("masks", "zones", "lines", "rules")
# "rules.1 (crowd).zones: ..." or "zones.0.polygon: ..." → the list and the item the message is about.
_PLACE = re.compile(r"^(masks|zones|lines|rules)(?:\.(\d+))?")
_SPLIT = re.compile(r"; (?=(?:masks|zones|lines|rules)[.:])")  # between problems, not inside one


def live_snapshot_path(camera_id: int) -> Path:
    return Path(settings.MEDIA_ROOT) / "live" / f"{camera_id}.jpg"


def uploaded_snapshot_path(camera_id: int) -> Path:
    return Path(settings.MEDIA_ROOT) / "analysis" / f"{camera_id}.jpg"


def snapshot_source(camera_id: int) -> str | None:
    """``"live"`` when the supervisor's frame exists, ``"upload"`` for an uploaded still, else ``None``."""
    if live_snapshot_path(camera_id).exists():
        return "live"
    if uploaded_snapshot_path(camera_id).exists():
        return "upload"
    return None


def place_errors(messages: dict[str, list[str]]) -> dict[str, list[str]]:
    """Schema errors keyed by the list they are about: the pipeline reports cross-references
    (``rules.1 (crowd).zones: no zone named 'x'``) as one whole-config message joined by ``; ``."""
    placed: dict[str, list[str]] = {}
    for key, items in messages.items():
        for message in items:
            for part in _SPLIT.split(message) if key in ("__all__", "non_field_errors") else [message]:
                match = _PLACE.match(part)
                field = match.group(1) if match and key in ("__all__", "non_field_errors") else key
                placed.setdefault("non_field_errors" if field == "__all__" else field, []).append(part)
    return placed


def _points(value: Any) -> list[tuple[str, Any]]:
    """(where, point) of every drawn point, for the bounds check."""
    found: list[tuple[str, Any]] = []
    for field in ("masks", "zones", "lines"):
        for i, item in enumerate(value.get(field) or []):
            if not isinstance(item, dict):
                continue
            key = "points" if field == "lines" else "polygon"
            for j, point in enumerate(item.get(key) or []):
                found.append((f"{field}.{i}.{key}.{j}", point))
    return found


def check_settings(*, camera: Camera, values: dict[str, Any]) -> None:
    """Raise ``ValidationError`` keyed by field when the settings cannot run on this camera."""
    from analytics.vision import pipeline_config

    errors: dict[str, list[str]] = {}
    for field in GEOMETRY_FIELDS:
        if not isinstance(values.get(field) or [], list):
            errors[field] = [_("Give a list (JSON array), even an empty one.")]
    if not isinstance(values.get("detectors") or [], list) or not all(isinstance(d, str) for d in values.get("detectors") or []):
        errors["detectors"] = [_("Give a list of model names.")]
    if errors:
        raise ValidationError(errors)
    try:
        pipeline_config(camera=camera, data=values)
    except ValidationError as exc:
        raise ValidationError(place_errors(exc.message_dict)) from None
    width, height = values.get("image_width"), values.get("image_height")
    if width and height:
        for where, point in _points(values):
            x, y = point
            if not (0 <= x <= width and 0 <= y <= height):
                field = where.split(".", 1)[0]
                errors.setdefault(field, []).append(
                    _("%(where)s: point (%(x)s, %(y)s) is outside the %(w)s×%(h)s snapshot; draw inside the image.")
                    % {"where": where, "x": x, "y": y, "w": width, "h": height}
                )
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def save_analysis_settings(
    *, analysis: AnalysisSettings, actor: Any, retention_days: int | None = None, request: Any = None
) -> AnalysisSettings:
    """Check against the pipeline's schema, save and audit; ``retention_days`` goes to the camera."""
    values = {f.name: getattr(analysis, f.name) for f in AnalysisSettings._meta.concrete_fields}
    check_settings(camera=analysis.camera, values=values)
    save_owned(obj=analysis, actor=actor, request=request)
    camera = analysis.camera
    if retention_days is not None and retention_days != camera.retention_days:
        camera.retention_days = retention_days
        save_camera(camera=camera, actor=actor, request=request, reason=_("retention changed on the analysis page"))
    return analysis


@transaction.atomic
def store_snapshot(*, camera: Camera, data: bytes, actor: Any, request: Any = None) -> AnalysisSettings:
    """Keep an uploaded still as the drawing background and record its size on the settings."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > MAX_SNAPSHOT_BYTES:
        raise ValidationError({"snapshot": [_("The image is larger than 10 MB; send a smaller JPEG or PNG.")]})
    try:
        with Image.open(io.BytesIO(data)) as probe:
            width, height = probe.size
            if max(width, height) > MAX_SNAPSHOT_SIDE:
                raise ValidationError(
                    {"snapshot": [_("The image is %(w)s×%(h)s px; at most 8192 px a side.") % {"w": width, "h": height}]}
                )
            image = probe.convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise ValidationError({"snapshot": [_("This file is not a readable image; send a JPEG or PNG.")]}) from None
    path = uploaded_snapshot_path(camera.pk)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    image.save(tmp, format="JPEG", quality=90)
    tmp.replace(path)  # readers never see half a file
    analysis = AnalysisSettings.objects.select_for_update().filter(camera=camera).first()
    analysis = analysis or AnalysisSettings(ward=camera.ward, camera=camera)
    analysis.image_width, analysis.image_height = width, height
    save_owned(obj=analysis, actor=actor, request=request)
    audit(
        action="analysis_snapshot_uploaded",
        actor=actor,
        ward=camera.ward_id,
        obj=camera,
        detail={"width": width, "height": height},
        ip=client_ip(request),
    )
    return analysis


@transaction.atomic
def set_faces_enabled(*, ward: Ward, enabled: bool, actor: Any, reason: str, request: Any = None) -> Ward:
    """Turn face detection on or off for every camera of ``ward``; the reason (legal basis) is audited."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why (the legal basis, or why it stops).")]})
    ward = Ward.objects.select_for_update().get(pk=ward.pk)
    if ward.faces_enabled != enabled:
        ward.faces_enabled = enabled
        ward.save(update_fields=["faces_enabled"])
        audit(
            action="faces_enabled" if enabled else "faces_disabled",
            actor=actor,
            ward=ward,
            obj=ward,
            reason=reason,
            ip=client_ip(request),
        )
    return ward
