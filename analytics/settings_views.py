"""The per-camera "Analysis" page: zone and line editor on a snapshot, rules, models, recording, health.

The page is a thin shell (STYLE.md, like the ops pages): it passes the settings as the API gives them,
the URLs, the rule schema (defaults and limits from ``analytics/pipeline/config.py``) and every label
to ``static/js/analysis-editor.js``, which saves the whole JSON to ``/api/analysis-settings/`` and
shows the API's errors next to the item they name. Operators and investigators see it read-only.

The drawing background is the stream supervisor's latest frame when there is one, else a still an
admin uploads here (``analytics.camera_settings``). Coordinates are pixels of that image.
"""

from __future__ import annotations

import typing
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from analytics import camera_settings
from analytics.models import ALERT_ROLES, AlertType, AnalysisSettings, TrackClass
from analytics.pipeline import config as schema
from cameras.models import Camera
from portal.models import Ward
from portal.querysets import CHANGE, roles_for, ward_ids_for
from portal.services import audit_outside_home

# Labels of the rules' parameters (the schema's own descriptions are English and not translated).
PARAM_LABELS: dict[str, Any] = {
    "seconds": gettext_lazy("For at least (s)"),
    "max_people": gettext_lazy("Crowd: more people than"),
    "radius_px": gettext_lazy("Counts as stationary within (px)"),
    "hysteresis_px": gettext_lazy("Distance from the line before a side counts (px)"),
    "dark_level": gettext_lazy("Dark below brightness (0–255)"),
    "frozen_diff": gettext_lazy("Frozen below mean change"),
    "covered_sharpness": gettext_lazy("Covered below sharpness"),
    "min_confidence": gettext_lazy("Least confidence"),
    "min_seconds": gettext_lazy("For at least (s)"),
    "labels": gettext_lazy("Detector labels (comma-separated)"),
}
RESERVED = {"type", "name", "classes", "anchor", "zones", "lines"}


def _can_edit(user: Any, ward_id: int) -> bool:
    ids = ward_ids_for(user, roles_for(AnalysisSettings, CHANGE))
    return ids is None or ward_id in ids


def _viewable_camera(request: HttpRequest, pk: int) -> Camera:
    """The camera when the user handles its ward's analysis (operator, investigator, admin); else 404."""
    ids = ward_ids_for(request.user, ALERT_ROLES)
    cameras = Camera.objects.all() if ids is None else Camera.objects.filter(ward_id__in=ids)
    return get_object_or_404(cameras.select_related("ward").defer("ward__boundary"), pk=pk)


def rule_types() -> list[dict[str, Any]]:
    """Each rule type of the pipeline's schema: its parameters with defaults and limits, what it refers to."""
    union = typing.get_args(typing.get_args(schema.RuleConfig)[0])
    labels = dict(AlertType.choices)
    found = []
    for model in union:
        kind = typing.get_args(model.model_fields["type"].annotation)[0]
        properties = model.model_json_schema()["properties"]
        params = []
        for name, field in model.model_fields.items():
            if name in RESERVED:
                continue
            prop = properties.get(name, {})
            numeric = prop.get("type") in ("number", "integer")
            params.append(
                {
                    "name": name,
                    "label": str(PARAM_LABELS.get(name, name.replace("_", " "))),
                    "help": prop.get("description", ""),
                    "kind": "number" if numeric else {"boolean": "bool", "array": "list"}.get(prop.get("type", ""), "text"),
                    "integer": prop.get("type") == "integer",
                    "default": list(field.default) if isinstance(field.default, tuple) else field.default,
                    "min": prop.get("minimum", prop.get("exclusiveMinimum")),
                    "max": prop.get("maximum", prop.get("exclusiveMaximum")),
                }
            )
        classes = model.model_fields["classes"].default
        found.append(
            {
                "type": kind,
                "label": str(labels.get(kind, kind.replace("_", " "))),
                "zones": "zones" in model.model_fields,
                "zonesRequired": "zones" in model.model_fields and model.model_fields["zones"].is_required(),
                "lines": "lines" in model.model_fields,
                # A tampered camera is about the picture, not about objects: no classes, no anchor.
                "objects": kind != "tampered",
                "classes": list(classes) if classes is not None else None,
                "anchor": model.model_fields["anchor"].default,
                "params": params,
            }
        )
    return found


@login_required
def camera_analysis(request: HttpRequest, pk: int) -> HttpResponse:
    from analytics.api.settings import AnalysisSettingsSerializer, camera_health
    from analytics.vision import available_models, default_model_names

    camera = _viewable_camera(request, pk)
    audit_outside_home(user=request.user, ward_ids=[camera.ward_id], what=request.path, request=request)
    analysis = AnalysisSettings.objects.select_related("ward", "camera").filter(camera=camera).first()
    data: dict[str, Any]
    if analysis is not None:
        data = dict(AnalysisSettingsSerializer(analysis, context={"request": request}).data)
    else:
        data = {
            "id": None, "camera": camera.pk, "live": False, "detectors": [], "read_plates": True, "detect_faces": False,
            "faces_active": False, "record": False, "segment_seconds": 60, "retention_days": camera.retention_days,
            "image_width": None, "image_height": None, "masks": [], "zones": [], "lines": [], "rules": [],
            "health": camera_health(camera),
        }  # fmt: skip
    source = camera_settings.snapshot_source(camera.pk)
    background = {
        "live": reverse("camera-live", args=[camera.pk]),
        "upload": reverse("camera-analysis-snapshot", args=[camera.pk]),
    }.get(source or "")
    can_edit = _can_edit(request.user, camera.ward_id)
    config = {
        "settings": data,
        "canEdit": can_edit,
        "listUrl": reverse("api:analysissettings-list"),
        "detailUrl": reverse("api:analysissettings-detail", args=[0]),
        "background": background,
        "backgroundSource": source,
        "models": sorted(available_models()),
        "defaultModels": default_model_names(),
        "facesEnabled": camera.ward.faces_enabled,
        "ruleTypes": rule_types(),
        "classes": [{"value": v, "label": str(label)} for v, label in TrackClass.choices],
        "zoneKinds": {"intrusion": _("intrusion"), "sidewalk": _("sidewalk"), "roadway": _("roadway")},
        "maskKinds": {"privacy": _("privacy (blacked out)"), "ignore": _("ignore (no motion)")},
        "anchors": {"bottom_center": _("feet (bottom centre of the box)"), "center": _("centre of the box")},
        "timeZone": settings.TIME_ZONE,
        "labels": _labels(),
    }
    return render(
        request,
        "analytics/camera_analysis.html",
        {"camera": camera, "config": config, "can_edit": can_edit, "snapshot_source": source, "ward": camera.ward},
    )


def _labels() -> dict[str, str]:
    return {
        "zone": _("Zone"),
        "mask": _("Mask"),
        "line": _("Line"),
        "name": _("Name"),
        "kind": _("Kind"),
        "forward": _("Forward label"),
        "backward": _("Backward label"),
        "swap": _("Swap direction"),
        "delete": _("Delete"),
        "noZones": _("No zones yet: choose “Draw zone” and click on the image."),
        "noMasks": _("No masks."),
        "noLines": _("No lines yet: choose “Draw line” and click two points."),
        "noRules": _("No rules yet: add one below."),
        "zonesUsed": _("Zones"),
        "linesUsed": _("Lines"),
        "classes": _("Classes (none ticked: all)"),
        "anchor": _("Point of the object that counts"),
        "drawZone": _("Click the corners of the zone; double-click or “Finish shape” to close it, Esc to cancel."),
        "drawMask": _("Click the corners of the mask; double-click or “Finish shape” to close it, Esc to cancel."),
        "drawLine": _("Click the line's two ends; the arrow shows the forward side."),
        "needThree": _("A shape needs at least three points."),
        "saving": _("Saving…"),
        "saved": _("Saved."),
        "fixErrors": _("Not saved: fix the items marked below."),
        "failed": _("Not saved: the server answered %(status)s."),
        "offline": _("Not saved: the server cannot be reached. Your drawing is kept; try again."),
        "connected": _("Connected"),
        "disconnected": _("Not connected"),
        "neverWatched": _("No stream supervisor has watched this camera yet."),
        "recording": _("recording"),
        "notRecording": _("not recording"),
        "sizeChanged": _("The drawing was made on a %(old)s image; this snapshot is %(new)s. Check the zones."),
        "noSnapshot": _("No snapshot yet: the drawing has no background."),
        "unused": _("This rule uses no zone or line."),
    }


@login_required
def analysis_snapshot(request: HttpRequest, pk: int) -> HttpResponse:
    """The uploaded still a camera's zones are drawn on (ward-scoped like the live frame)."""
    camera = _viewable_camera(request, pk)
    path = camera_settings.uploaded_snapshot_path(camera.pk)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise Http404(_("No snapshot was uploaded for this camera.")) from None
    response = HttpResponse(data, content_type="image/jpeg")
    response["Cache-Control"] = "private, no-cache"
    return response


@login_required
@require_POST
def analysis_snapshot_upload(request: HttpRequest, pk: int) -> HttpResponse:
    camera = _viewable_camera(request, pk)
    if not _can_edit(request.user, camera.ward_id):
        raise PermissionDenied(_("Only ward admins can change a camera's analysis."))
    upload = request.FILES.get("snapshot")
    if upload is None:
        messages.error(request, _("Choose an image file (JPEG or PNG) to upload."))
    elif (upload.size or 0) > camera_settings.MAX_SNAPSHOT_BYTES:
        messages.error(request, _("The image is larger than 10 MB; send a smaller JPEG or PNG."))
    else:
        try:
            analysis = camera_settings.store_snapshot(camera=camera, data=upload.read(), actor=request.user, request=request)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(
                request,
                _("Snapshot saved (%(w)s×%(h)s px).") % {"w": analysis.image_width, "h": analysis.image_height},
            )
    return redirect("camera-analysis", pk=camera.pk)


@login_required
@require_POST
def ward_faces(request: HttpRequest) -> HttpResponse:
    """Turn face detection on or off for one ward the user administers (audited with its reason)."""
    ward = get_object_or_404(Ward.objects.restrict(request.user, CHANGE), pk=request.POST.get("ward") or 0)
    enabled = request.POST.get("enabled") == "1"
    try:
        camera_settings.set_faces_enabled(
            ward=ward, enabled=enabled, actor=request.user, reason=request.POST.get("reason", ""), request=request
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        if enabled:
            messages.success(request, _("Face detection is on for %(ward)s.") % {"ward": ward.name})
        else:
            messages.success(request, _("Face detection is off for %(ward)s.") % {"ward": ward.name})
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        target = reverse("dashboard")
    return redirect(target)
