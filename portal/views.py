"""Pages of the portal: dashboard, coverage map, ward switch."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cameras.coverage import ward_coverage
from cameras.models import Camera
from portal.middleware import SESSION_KEY
from portal.models import Ward
from portal.services import audit, audit_outside_home, client_ip


def require_ward(request: HttpRequest) -> Ward:
    ward = request.ward  # type: ignore[attr-defined]
    if not ward:
        raise PermissionDenied(_("You are not a member of any ward. Ask a ward admin to add you."))
    audit_outside_home(user=request.user, ward_ids=[ward.pk], what=request.path, request=request)
    return ward


def _counts(queryset: Any, field: str, choices: Any) -> list[dict[str, Any]]:
    found = dict(queryset.values_list(field).annotate(n=Count("id")).order_by())
    return [{"value": value, "label": label, "count": found.get(value, 0)} for value, label in choices]


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    ward = require_ward(request)
    cameras = Camera.objects.filter(ward=ward)
    by_old_ward = list(cameras.values("old_ward__name").annotate(n=Count("id")).order_by("old_ward__name"))
    coverage = ward_coverage(ward)
    online = ward_coverage(ward, statuses=[Camera.Status.ONLINE])
    online_share = {a.id: a.share for a in online.old_wards}
    context = {
        "ward": ward,
        "total": cameras.count(),
        "by_status": _counts(cameras, "status", Camera.Status.choices),
        "by_programme": _counts(cameras, "programme", Camera.Programme.choices),
        "by_kind": _counts(cameras, "kind", Camera.Kind.choices),
        "by_old_ward": by_old_ward,
        "coverage": coverage,
        "online_coverage": online,
        "old_ward_rows": [(a, online_share.get(a.id, 0.0)) for a in coverage.old_wards],
    }
    return render(request, "portal/dashboard.html", context)


@login_required
def coverage_map(request: HttpRequest) -> HttpResponse:
    ward = require_ward(request)
    return render(
        request,
        "portal/map.html",
        {
            "ward": ward,
            "statuses": Camera.Status.choices,
            "programmes": Camera.Programme.choices,
            "map_config": {
                "ward": reverse("api:ward-detail", args=[ward.pk]) + "?format=geojson",
                "oldWards": reverse("api:oldward-list") + f"?ward={ward.pk}&format=geojson",
                "cameras": reverse("api:camera-list") + f"?ward={ward.pk}&format=geojson&page_size=5000",
                "sectors": reverse("api:camera-list") + f"?ward={ward.pk}&format=geojson&geometry=fov&page_size=5000",
                "cameraPage": reverse("camera-detail", args=[0]),
                "labels": {
                    "loaded": _("%(n)s cameras shown of %(total)s."),
                    "failed": _("Could not load the map layers: %(error)s"),
                    "details": _("Details"),
                    "status": _("Status"),
                    "programme": _("Programme"),
                    "range": _("Range"),
                },
            },
        },
    )


@login_required
@require_POST
def switch_ward(request: HttpRequest) -> HttpResponse:
    value = request.POST.get("ward", "")
    ward = Ward.objects.restrict(request.user).filter(pk=value).first() if value.isdigit() else None
    if ward is None:
        return HttpResponseBadRequest(_("Choose one of your wards."))
    request.session[SESSION_KEY] = ward.pk
    audit(action="ward_switched", actor=request.user, ward=ward, ip=client_ip(request))
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "dashboard"
    return redirect(target)
