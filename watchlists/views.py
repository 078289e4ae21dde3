"""The watchlist page: the ward's entries, the form to propose one, and approve/reject/revoke buttons.

Investigators and admins of the current ward only. Writes go through ``watchlists.services``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Prefetch
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from analytics.models import FaceSighting
from portal.models import Ward
from portal.querysets import ward_ids_for
from portal.views import require_ward
from watchlists import services
from watchlists.forms import CloseForm, ProposeForm
from watchlists.models import WATCHLIST_ROLES, WatchlistEntry


def require_watch_ward(request: HttpRequest) -> Ward:
    ward = require_ward(request)
    ids = ward_ids_for(request.user, WATCHLIST_ROLES)
    if ids is not None and ward.pk not in ids:
        raise PermissionDenied(_("Only investigators and admins of this ward see its watchlist."))
    return ward


def _wards(request: HttpRequest) -> Any:
    ids = ward_ids_for(request.user, WATCHLIST_ROLES)
    wards = Ward.objects.all() if ids is None else Ward.objects.filter(pk__in=ids)
    return wards.only("id", "name", "slug").order_by("name")


@login_required
def watchlist(request: HttpRequest) -> HttpResponseBase:
    ward = require_watch_ward(request)
    form = ProposeForm(wards=_wards(request))
    if request.method == "POST":
        form = ProposeForm(request.POST, wards=_wards(request))
        if form.is_valid():
            data = form.cleaned_data
            sighting = None
            if data.get("face_sighting"):
                sighting = FaceSighting.objects.restrict(request.user).filter(pk=data["face_sighting"]).first()
                if sighting is None:
                    form.add_error("face_sighting", _("No face sighting %(id)s in your wards.") % {"id": data["face_sighting"]})
            if form.is_valid():
                try:
                    services.propose(
                        actor=request.user,
                        ward=ward,
                        kind=data["kind"],
                        plate=data.get("plate") or "",
                        face_sighting=sighting,
                        threshold=data.get("threshold") if data["kind"] == WatchlistEntry.Kind.FACE else None,
                        reason=data["reason"],
                        legal_basis=data["legal_basis"],
                        priority=data["priority"],
                        covered_wards=list(data.get("covered_wards") or []),
                        expires_at=data["expires_at"],
                        request=request,
                    )
                except ValidationError as exc:
                    for field, errors in exc.message_dict.items():
                        for error in errors:
                            form.add_error(field if field in form.fields else None, error)
                else:
                    messages.success(request, _("Entry proposed: it matches once another admin of the ward approves it."))
                    return redirect("watchlist")
    return render(request, "watchlists/watchlist.html", _context(request, ward, form), status=400 if form.errors else 200)


def _context(request: HttpRequest, ward: Ward, form: ProposeForm) -> dict[str, Any]:
    entries = list(
        WatchlistEntry.objects.filter(ward=ward)
        .select_related("proposed_by", "approved_by", "closed_by")
        .prefetch_related(Prefetch("covered_wards", queryset=Ward.objects.only("id", "name")))
        .annotate(hit_count=Count("hits"))
        .defer("embedding")
        .order_by("-created_at", "-id")[:200]
    )
    rows = [
        {
            "entry": e,
            "approve_refusal": services.approval_refusal(request.user, e),
            "revoke_refusal": services.revoke_refusal(request.user, e),
            "can_reject": e.status == WatchlistEntry.Status.PENDING and services.is_approver(request.user, e),
            "is_admin": services.is_approver(request.user, e),
        }
        for e in entries
    ]
    return {"ward": ward, "form": form, "rows": rows}


@login_required
@require_POST
def entry_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Approve, reject or revoke one entry of a ward the user sees; errors come back as messages."""
    require_watch_ward(request)
    entry = get_object_or_404(WatchlistEntry.objects.restrict(request.user), pk=pk)
    try:
        if action == "approve":
            services.approve(entry=entry, actor=request.user, request=request)
            messages.success(request, _("Entry approved: it matches from now until it expires."))
        else:
            form = CloseForm(request.POST)
            if not form.is_valid():
                raise ValidationError({"reason": [_("Say why.")]})
            reason = form.cleaned_data["reason"]
            if action == "reject":
                services.reject(entry=entry, actor=request.user, reason=reason, request=request)
                messages.success(request, _("Entry rejected."))
            else:
                services.revoke(entry=entry, actor=request.user, reason=reason, request=request)
                messages.success(request, _("Entry revoked: it no longer matches."))
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, " ".join(m for ms in exc.message_dict.values() for m in ms))
    return redirect("watchlist")
