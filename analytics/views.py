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
