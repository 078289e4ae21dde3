"""The plate search page (``/investigations/plates/``): search form, results grouped by plate, one plate's
route on the map with a timeline, and "add to case".

A thin shell like the other map pages: everything it shows comes from ``/api/plate-reads/``,
``/api/plate-route/`` and ``/api/cases/`` by URL; the page passes the URLs and every translated
label to ``static/js/plate-search.js`` through ``json_script``.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics.api.plates import MAX_WINDOW_DAYS, SEARCH_ROLES
from portal.querysets import ward_ids_for
from portal.views import require_ward

DEFAULT_MARGIN_S = 30
LONG_GAP_S = 600  # a gap longer than this is drawn dashed: the vehicle was out of sight


def _case_page() -> str | None:
    try:
        return reverse("case-detail", args=[0])
    except NoReverseMatch:  # the case pages are not mounted
        return None


@login_required
def plate_search(request: HttpRequest) -> HttpResponse:
    ward = require_ward(request)
    ids = ward_ids_for(request.user, SEARCH_ROLES)
    if ids is not None and ward.pk not in ids:
        raise PermissionDenied(_("Plate search is for investigators and admins of this ward."))
    now = timezone.localtime()
    config = {
        "ward": ward.pk,
        "wardLayer": reverse("api:ward-detail", args=[ward.pk]) + "?format=geojson",
        "cameras": reverse("api:camera-list") + f"?ward={ward.pk}&format=geojson&page_size=5000",
        "search": reverse("api:plateread-list"),
        "route": reverse("api:plate-route"),
        "cases": reverse("api:case-list") + f"?ward={ward.pk}&page_size=200",
        "addToCase": reverse("api:plateread-add-to-case"),
        "casePage": _case_page(),
        "timeZone": settings.TIME_ZONE,
        "longGap": LONG_GAP_S,
        "labels": {
            "searching": _("Searching…"),
            "found": _("%(n)s sightings of %(plates)s plates."),
            "more": _("Showing the newest %(shown)s of %(n)s sightings: narrow the window to see all."),
            "none": _("No sighting matches."),
            "failed": _("The search failed: %(error)s"),
            "sightings": _("%(n)s sightings"),
            "cameras": _("%(n)s cameras"),
            "route": _("Route"),
            "routeOf": _("Route of %(plate)s: %(n)s sightings"),
            "gap": _("%(min)s min later"),
            "longGap": _("Out of sight for %(min)s min"),
            "confidence": _("confidence %(pct)s%%"),
            "areaSet": _("Area drawn: only cameras inside it."),
            "areaNone": _("No area: all cameras of the ward."),
            "chooseCase": _("Choose a case."),
            "chooseSightings": _("Select at least one sighting."),
            "added": _("%(n)s clips requested for case %(case)s."),
            "noImage": _("No image"),
        },
    }
    context = {
        "ward": ward,
        "max_days": MAX_WINDOW_DAYS,
        "default_margin": DEFAULT_MARGIN_S,
        "since": (now - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        "until": (now + dt.timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M"),
        "plate_config": config,
    }
    return render(request, "analytics/plate_search.html", context)
