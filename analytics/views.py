"""Operations room pages: the alert console (``ops``) and the live wall of the ward's cameras (``wall``).

Both are thin shells: what they show comes from the REST API by URL and from ``/ws/alerts/``; the page
passes the URLs, the choices and every translated label to the script through ``json_script``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from analytics.models import ALERT_ROLES, Alert, AlertEvent, AlertType, Severity
from cameras.models import Camera
from portal.models import Membership, Ward
from portal.querysets import ward_ids_for
from portal.views import require_ward

WALL_PAGE_SIZES = (4, 9, 16)
ALERT_SOCKET_PATH = "/ws/alerts/"  # portal/routing.py


def require_officer_ward(request: HttpRequest) -> Ward:
    """The current ward, when the user handles alerts there (operator, investigator, admin)."""
    ward = require_ward(request)
    ids = ward_ids_for(request.user, ALERT_ROLES)
    if ids is not None and ward.pk not in ids:
        raise PermissionDenied(_("Only operators, investigators and admins of this ward can open the operations room."))
    return ward


def _choices(choices: Any) -> dict[str, str]:
    return {str(value): str(label) for value, label in choices}


def _common_config(ward: Ward) -> dict[str, Any]:
    return {
        "ward": ward.pk,
        "socket": f"{ALERT_SOCKET_PATH}?ward={ward.pk}",
        "alerts": reverse("api:alert-list"),
        "events": reverse("api:alertevent-list"),
        "cameras": reverse("api:camera-list") + f"?ward={ward.pk}&format=geojson&page_size=5000",
        "cameraPage": reverse("camera-detail", args=[0]),
        "liveImage": reverse("camera-live", args=[0]),
        "timeZone": settings.TIME_ZONE,  # Asia/Ho_Chi_Minh, whatever the browser's zone
        "choices": {
            "type": _choices(AlertType.choices),
            "severity": _choices(Severity.choices),
            "status": _choices(Alert.Status.choices),
            # Short enough for a badge in the feed (the same words as the events).
            "statusShort": {
                Alert.Status.NEW: str(Alert.Status.NEW.label),
                Alert.Status.ACKNOWLEDGED: str(AlertEvent.Kind.ACKNOWLEDGED.label),
                Alert.Status.ESCALATED: str(AlertEvent.Kind.ESCALATED.label),
                Alert.Status.DISMISSED: str(AlertEvent.Kind.DISMISSED.label),
            },
            "event": _choices(AlertEvent.Kind.choices),
            "cameraStatus": _choices(Camera.Status.choices),
        },
        "connection": {
            "connecting": _("Connecting…"),
            "live": _("Live"),
            "retry": _("Connection lost; retrying in %(s)s s…"),
            "refused": _("The server refused the live feed: sign in again or choose a ward you handle alerts in."),
            "replaying": _("Catching up on missed events…"),
        },
    }


@login_required
def ops(request: HttpRequest) -> HttpResponse:
    ward = require_officer_ward(request)
    # Who an alert can be assigned to: the same people ``services.assign`` accepts.
    memberships = Membership.objects.filter(ward=ward, role__in=ALERT_ROLES).select_related("user").order_by("user__username")
    officers = [
        {"username": m.user.get_username(), "name": m.user.get_full_name() or m.user.get_username(), "role": m.get_role_display()}
        for m in memberships
    ]
    config = _common_config(ward) | {
        "wardShape": reverse("api:ward-detail", args=[ward.pk]) + "?format=geojson",
        "alertAction": reverse("api:alert-acknowledge", args=[0]).replace("/acknowledge/", "/%(action)s/"),
        "officers": officers,
        "labels": {
            "loading": _("Loading alerts…"),
            "loaded": _("%(n)s alerts shown of %(total)s."),
            "empty": _("No alerts match the filters."),
            "failed": _("Could not load: %(error)s"),
            "mapFailed": _("Could not load the cameras for the map: %(error)s"),
            "camera": _("Camera"),
            "raisedAt": _("Raised"),
            "lastSeen": _("Last seen"),
            "count": _("Hits"),
            "assignedTo": _("Assigned to"),
            "nobody": _("nobody"),
            "note": _("Note"),
            "reason": _("Reason for dismissal"),
            "incidentLabel": _("Incident"),
            "incident": _("Incident #%(id)s"),
            "noSnapshot": _("No snapshot with this alert."),
            "snapshotFailed": _("The snapshot could not be loaded."),
            "historyEmpty": _("No events yet."),
            "by": _("by %(user)s"),
            "system": _("system"),
            "times": _("×%(n)s"),
            "done": _("Done: %(what)s."),
            "reasonRequired": _("Say why this is a false alarm."),
            "noteRequired": _("Write the note."),
            "chooseOfficer": _("Choose an officer."),
            "closed": _("This alert is closed."),
            "raised": _("Alert #%(id)s raised."),
            "unknownCamera": _("Choose a camera from the list or type its code."),
            "notifyTitle": _("%(type)s · %(camera)s"),
            "notifyOn": _("Desktop notifications are on."),
            "notifyDenied": _("The browser blocks notifications for this site."),
            "soundOn": _("Sound on"),
            "soundOff": _("Sound off"),
        },
    }
    context = {
        "ward": ward,
        "types": AlertType.choices,
        "manual_type": AlertType.MANUAL,
        "severities": Severity.choices,
        "statuses": Alert.Status.choices,
        "officers": officers,
        "ops_config": config,
    }
    return render(request, "analytics/ops.html", context)


@login_required
def wall(request: HttpRequest) -> HttpResponse:
    ward = require_officer_ward(request)
    config = _common_config(ward) | {
        "pageSizes": list(WALL_PAGE_SIZES),
        "alertsForCamera": reverse("api:alert-list") + "?camera=%(id)s&page_size=1",
        "recentAlerts": reverse("api:alert-list") + f"?ward={ward.pk}&page_size=200",
        "labels": {
            "failed": _("Could not load: %(error)s"),
            "page": _("Page %(page)s of %(pages)s · %(total)s cameras"),
            "empty": _("This ward has no cameras yet."),
            "noImage": _("No live image"),
            "noAlert": _("No alerts"),
            "lastAlert": _("Last alert"),
            "updated": _("Image of %(time)s"),
        },
    }
    return render(request, "analytics/wall.html", {"ward": ward, "page_sizes": WALL_PAGE_SIZES, "wall_config": config})


@login_required
def alert_snapshot(request: HttpRequest, pk: int) -> HttpResponseBase:
    """An alert's snapshot, for officers of its ward only (media files are never served publicly)."""
    from django.http import FileResponse, Http404

    alert = Alert.objects.restrict(request.user).filter(pk=pk).only("id", "snapshot").first()
    if alert is None or not alert.snapshot:
        raise Http404(_("This alert has no snapshot."))
    response = FileResponse(alert.snapshot.open("rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=3600"
    return response


# --- Uploaded clips: upload form, job page (progress, then results), key frames and plate crops ---


def _clip_job_for(request: HttpRequest, pk: int) -> Any:
    """A clip job the user may see; another ward's job is 404, like a job that does not exist."""
    from django.http import Http404

    from analytics.models import ClipJob
    from portal.services import audit_outside_home

    job = ClipJob.objects.restrict(request.user).select_related("camera", "created_by", "ward").filter(pk=pk).first()
    if job is None:
        raise Http404(_("No such clip analysis."))
    audit_outside_home(user=request.user, ward_ids=[job.ward_id], what=request.path, request=request)
    return job


@login_required
def clip_new(request: HttpRequest) -> HttpResponseBase:
    """Upload a video for analysis; below the form, the ward's recent clip analyses."""
    from django.shortcuts import redirect

    from analytics.api.clips import ENVELOPE_BYTES
    from analytics.clip_forms import ClipUploadForm
    from analytics.clipjobs import queue_clip

    ward = require_officer_ward(request)
    form = ClipUploadForm(ward=ward)
    if request.method == "POST":
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > settings.CLIP_MAX_BYTES + ENVELOPE_BYTES:
            # Refused before the body is read: nothing of it reaches the disk.
            from django.template.defaultfilters import filesizeformat

            refused = _(
                "The file is %(size)s; clips up to %(limit)s can be analysed. Cut it into shorter parts and upload each."
            ) % {
                "size": filesizeformat(length),
                "limit": filesizeformat(settings.CLIP_MAX_BYTES),
            }
            return render(request, "analytics/clip_new.html", _clip_list_context(ward, form) | {"refused": refused}, status=413)
        form = ClipUploadForm(request.POST, request.FILES, ward=ward)
        if form.is_valid():
            job = queue_clip(
                ward=ward,
                actor=request.user,
                upload=form.cleaned_data["file"],
                camera=form.cleaned_data["camera"],
                recorded_at=form.cleaned_data["recorded_at"],
                request=request,
            )
            return redirect("clip-job", pk=job.pk)
    return render(request, "analytics/clip_new.html", _clip_list_context(ward, form))


def _clip_list_context(ward: Ward, form: Any) -> dict[str, Any]:
    from analytics.models import ClipJob

    jobs = ClipJob.objects.filter(ward=ward).select_related("camera", "created_by").order_by("-created_at", "-id")[:20]
    return {"ward": ward, "form": form, "jobs": jobs, "max_bytes": settings.CLIP_MAX_BYTES}


@login_required
def clip_job(request: HttpRequest, pk: int) -> HttpResponse:
    """One clip analysis: a progress bar while it runs (polling the API), then its results."""
    from analytics.clipjobs import job_error
    from analytics.models import ClipJob, TrackClass

    job = _clip_job_for(request, pk)
    summary = job.summary if isinstance(job.summary, dict) else {}
    duration = float(summary.get("duration_s") or summary.get("media_s") or 0) or 1.0
    timeline = [
        item
        | {
            "left": round(min(100.0, 100 * float(item.get("t", 0)) / duration), 2),
            "width": round(max(0.6, min(100.0, 100 * (float(item.get("until", 0)) - float(item.get("t", 0))) / duration)), 2),
            "label": str(AlertType(item["type"]).label) if item.get("type") in AlertType.values else item.get("type", ""),
        }
        for item in summary.get("timeline") or []
    ]
    line_rows = [
        {"line": line, "direction": direction, "class": str(dict(TrackClass.choices).get(cls, cls)), "count": count}
        for line, directions in sorted((summary.get("line_counts") or {}).items())
        for direction, classes in sorted(directions.items())
        for cls, count in sorted(classes.items())
    ]
    context = {
        "job": job,
        "summary": summary,
        "error_message": job_error(job),
        "finished": job.finished,
        "partial": bool(summary.get("partial")),
        "key_frames": [
            {"url": reverse("clip-frame", args=[job.pk, i]), "t": frame.get("t"), "tracks": frame.get("tracks")}
            for i, frame in enumerate(summary.get("key_frames") or [])
        ],
        # Class names shown in the user's language (the summary keeps the canonical names).
        "tracks_by_class": sorted(
            (str(dict(TrackClass.choices).get(cls, cls)), n) for cls, n in (summary.get("tracks_by_class") or {}).items()
        ),
        "line_rows": line_rows,
        "timeline": timeline,
        "duration": duration,
        "plate_reads": job.platereads.order_by("seen_at", "id") if job.status != ClipJob.Status.QUEUED else [],
        "alerts": job.alerts.order_by("raised_at", "id"),
        "clip_config": {
            "job": reverse("api:clipjob-detail", args=[job.pk]),
            "cancel": reverse("api:clipjob-cancel", args=[job.pk]),
            "finished": job.finished,
            "labels": {
                "progress": _("%(progress)s%% analysed · %(frames)s frames so far"),
                "queued": _("Waiting for a worker…"),
                "cancelling": _("Stopping…"),
                "failed": _("Could not load the progress: %(error)s"),
            },
        },
    }
    return render(request, "analytics/clip_job.html", context)


@login_required
def clip_frame(request: HttpRequest, pk: int, index: int) -> HttpResponseBase:
    """A clip's annotated key frame, for the officers of its ward only."""
    from django.core.files.storage import default_storage
    from django.http import FileResponse, Http404

    job = _clip_job_for(request, pk)
    frames = (job.summary or {}).get("key_frames") or []
    if not 0 <= index < len(frames) or not default_storage.exists(frames[index]["path"]):
        raise Http404(_("No such key frame."))
    response = FileResponse(default_storage.open(frames[index]["path"], "rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
def clip_plate(request: HttpRequest, pk: int, read: int) -> HttpResponseBase:
    """The crop of a plate read found in a clip, for the officers of its ward only."""
    from django.http import FileResponse, Http404

    job = _clip_job_for(request, pk)
    plate = job.platereads.filter(pk=read).only("id", "crop").first()
    if plate is None or not plate.crop:
        raise Http404(_("This plate read has no picture."))
    response = FileResponse(plate.crop.open("rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=3600"
    return response
