"""Case pages: the list with a form for a new case, and one case's page (map, evidence timeline, custody).

Operators, investigators and admins of the current ward see the cases; investigators and admins
open and move them and see evidence and custody. Writes go through ``incidents.services``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from cameras.models import Camera
from incidents import services
from incidents.exports import verify_upload_limit
from incidents.forms import CaseForm, ClipForm, ReasonForm, StatusForm, UploadForm
from incidents.keys import deployment_keys
from incidents.models import CASE_CHANGE_ROLES, CASE_VIEW_ROLES, EVIDENCE_ROLES, CustodyEntry, Evidence, Incident
from incidents.verify import Report, verify_bundle
from portal.querysets import ward_ids_for
from portal.services import audit_outside_home
from portal.views import require_ward


def _has(user: Any, roles: frozenset[str], ward_id: int) -> bool:
    ids = ward_ids_for(user, roles)
    return ids is None or ward_id in ids


def _errors(request: HttpRequest, exc: ValidationError) -> None:
    for field, errs in (exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}).items():
        messages.error(request, f"{field}: {' '.join(errs)}" if field and field != "__all__" else " ".join(errs))


@login_required
def case_list(request: HttpRequest) -> HttpResponse:
    ward = require_ward(request)
    if not _has(request.user, CASE_VIEW_ROLES, ward.pk):
        raise PermissionDenied(_("Case files are for operators, investigators and admins."))
    can_edit = _has(request.user, CASE_CHANGE_ROLES, ward.pk)
    form = CaseForm(request.POST or None)
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied(_("Only investigators and admins open cases."))
        if form.is_valid():
            data = form.cleaned_data
            try:
                case = services.create_case(
                    ward=ward,
                    actor=request.user,
                    title=data["title"],
                    type=data["type"],
                    occurred_at=data["occurred_at"],
                    narrative=data["narrative"],
                    location=data["location"],
                    request=request,
                )
            except ValidationError as exc:
                _errors(request, exc)
            else:
                messages.success(request, _("Case %(number)s opened.") % {"number": case.number})
                return redirect("case-detail", case.pk)
    cases = Incident.objects.restrict(request.user).filter(ward=ward).select_related("created_by").order_by("-created_at", "-id")
    status, kind, number = request.GET.get("status", ""), request.GET.get("type", ""), request.GET.get("number", "").strip()
    if status in Incident.Status.values:
        cases = cases.filter(status=status)
    if kind in Incident.Type.values:
        cases = cases.filter(type=kind)
    if number:
        cases = cases.filter(number__icontains=number)
    page = Paginator(cases, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "ward": ward,
        "page": page,
        "form": form,
        "can_edit": can_edit,
        "statuses": Incident.Status.choices,
        "types": Incident.Type.choices,
        "query": query.urlencode(),
    }
    return render(request, "incidents/case_list.html", context)


def _case_for(request: HttpRequest, pk: int) -> Incident:
    case = get_object_or_404(Incident.objects.restrict(request.user).select_related("ward", "created_by"), pk=pk)
    audit_outside_home(user=request.user, ward_ids=[case.ward_id], what=request.path, request=request)
    return case


def _case_for_change(request: HttpRequest, pk: int) -> Incident:
    case = _case_for(request, pk)
    if not _has(request.user, CASE_CHANGE_ROLES, case.ward_id):
        raise PermissionDenied(_("Only investigators and admins change cases."))
    return case


@login_required
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_for(request, pk)
    see_evidence = _has(request.user, EVIDENCE_ROLES, case.ward_id)
    cameras = list(case.cameras.order_by("code"))
    evidence = (
        list(
            Evidence.objects.filter(case=case)
            .select_related("camera", "created_by")
            .order_by("requested_start", "created_at", "id")
        )
        if see_evidence
        else []
    )
    custody = list(CustodyEntry.objects.filter(case=case).order_by("-seq")) if see_evidence else []
    broken = {e.seq for e in services.verify_custody(case=case).get(case.pk, [])} if see_evidence else set()
    layers = {
        "case": ({"lat": case.location.y, "lon": case.location.x, "label": case.number} if case.location is not None else None),
        "cameras": [
            {"lat": c.location.y, "lon": c.location.x, "label": f"{c.code} · {c.name}", "status": c.status}
            for c in cameras
            if c.location is not None
        ],
    }
    context = {
        "case": case,
        "cameras": cameras,
        "ward_cameras": Camera.objects.filter(ward=case.ward).order_by("code").only("id", "code", "name"),
        "evidence": evidence,
        "custody": custody,
        "broken": broken,
        "layers": layers,
        "see_evidence": see_evidence,
        "can_edit": _has(request.user, CASE_CHANGE_ROLES, case.ward_id),
        "next_statuses": [(s, Incident.Status(s).label) for s in sorted(services.TRANSITIONS[case.status])],
        "finished": case.status in services.FINISHED,
        "alerts": list(case.alerts.select_related("camera").order_by("-raised_at")[:50]),
        "plate_reads": list(case.plate_reads.select_related("camera").order_by("seen_at")[:200]),
        "investigators": list(case.investigators.order_by("username")),
        "upload_form": UploadForm(),
        "clip_form": ClipForm(),
    }
    return render(request, "incidents/case_detail.html", context)


@login_required
@require_POST
def case_status(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_for_change(request, pk)
    form = StatusForm(request.POST)
    if form.is_valid():
        try:
            services.change_status(case=case, actor=request.user, request=request, **form.cleaned_data)
        except ValidationError as exc:
            _errors(request, exc)
    else:
        messages.error(request, _("Choose a status."))
    return redirect("case-detail", case.pk)


@login_required
@require_POST
def case_evidence(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_for_change(request, pk)
    if not _has(request.user, EVIDENCE_ROLES, case.ward_id):
        raise PermissionDenied(_("Evidence is for investigators and admins of the ward."))
    try:
        if "file" in request.FILES:
            upload = UploadForm(request.POST, request.FILES)
            if not upload.is_valid():
                raise ValidationError({k: [e["message"] for e in v] for k, v in upload.errors.get_json_data().items()})
            services.add_upload(
                case=case, file=upload.cleaned_data["file"], note=upload.cleaned_data["note"], actor=request.user, request=request
            )
            messages.success(request, _("The file was added as evidence."))
        else:
            clip = ClipForm(request.POST)
            if not clip.is_valid():
                raise ValidationError({k: [e["message"] for e in v] for k, v in clip.errors.get_json_data().items()})
            camera = Camera.objects.filter(ward=case.ward, pk=clip.cleaned_data["camera"]).first()
            if camera is None:
                raise ValidationError({"camera": [_("Choose a camera of this ward.")]})
            services.add_clip(
                case=case,
                camera=camera,
                start=clip.cleaned_data["start"],
                end=clip.cleaned_data["end"],
                note=clip.cleaned_data["note"],
                actor=request.user,
                request=request,
            )
            messages.success(request, _("The clip was requested; it appears here when it is cut."))
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("case-detail", case.pk)


@login_required
@require_POST
def case_release_hold(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_for_change(request, pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the hold is released."))
        return redirect("case-detail", case.pk)
    try:
        released = services.release_hold(case=case, actor=request.user, reason=form.cleaned_data["reason"], request=request)
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("Evidence hold released: %(n)s recordings may now expire.") % {"n": released})
    return redirect("case-detail", case.pk)


@require_http_methods(["GET", "POST"])
def verify_page(request: HttpRequest) -> HttpResponse:
    """Upload a bundle, see each file's result; the deployment's key fingerprint is shown to compare."""
    keys = deployment_keys()
    limit = verify_upload_limit()
    report: Report | None = None
    error = ""
    status = 200
    if request.method == "POST":
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        upload = request.FILES.get("bundle") if length <= limit + 64 * 1024 else None
        if length > limit + 64 * 1024:
            error = _("The file is larger than %(limit)s. Check it with the command “python -m incidents.verify”.") % {
                "limit": filesizeformat(limit)
            }
            status = 413
        elif upload is None:
            error = _("Choose the bundle (.zip) to check.")
            status = 400
        else:
            source = upload.temporary_file_path() if hasattr(upload, "temporary_file_path") else upload
            report = verify_bundle(source, trusted_keys=[keys.fingerprint], max_unpacked=2 * limit)
    return render(
        request,
        "incidents/verify.html",
        {
            "fingerprint": keys.fingerprint,
            "report": report,
            "exported_at": _parsed_time(report.created_at) if report is not None else None,
            "error": error,
            "limit": limit,
        },
        status=status,
    )


def _parsed_time(text: str) -> dt.datetime | None:
    """The bundle's ISO time, to be shown in the ward's zone like every other time on the pages."""
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return None
