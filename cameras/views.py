"""Camera pages: list, detail, create/edit (admins), import (admins), latest live frame."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import http_date
from django.utils.translation import gettext as _

from analytics.models import ALERT_ROLES
from cameras.filtersets import CameraFilterSet
from cameras.forms import CameraForm, ImportForm
from cameras.importer import ImportFileError, import_file
from cameras.models import Camera
from cameras.services import save_camera
from portal.models import Ward
from portal.querysets import CHANGE, roles_for, ward_ids_for
from portal.services import audit_outside_home
from portal.views import require_ward
from workers.models import StreamLease

PENDING_KEY = "matthan_pending_import"


def is_admin_of(user: Any, ward: Ward) -> bool:
    ids = ward_ids_for(user, roles_for(Camera, CHANGE))
    return ids is None or ward.pk in ids


@login_required
def camera_list(request: HttpRequest) -> HttpResponse:
    ward = require_ward(request)
    data = request.GET.copy()
    data["ward"] = str(ward.pk)
    base = Camera.objects.restrict(request.user).select_related("old_ward", "site", "sponsor").order_by("code")
    filterset = CameraFilterSet(data, queryset=base, request=request)
    try:
        cameras = filterset.qs if filterset.is_valid() else base.none()
    except Exception as exc:  # filters raise DRF validation errors with a message for the user
        messages.error(request, str(getattr(exc, "detail", exc)))
        cameras = base.none()
    page = Paginator(cameras, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "cameras/list.html",
        {
            "ward": ward,
            "page": page,
            "filter": filterset,
            "query": query.urlencode(),
            "can_edit": is_admin_of(request.user, ward),
            "statuses": Camera.Status.choices,
            "programmes": Camera.Programme.choices,
            "kinds": Camera.Kind.choices,
        },
    )


@login_required
def camera_detail(request: HttpRequest, pk: int) -> HttpResponse:
    camera = get_object_or_404(Camera.objects.restrict(request.user).select_related("ward", "old_ward", "site", "sponsor"), pk=pk)
    audit_outside_home(user=request.user, ward_ids=[camera.ward_id], what=request.path, request=request)
    officer_ids = ward_ids_for(request.user, ALERT_ROLES)
    can_analyse = officer_ids is None or camera.ward_id in officer_ids  # the Analysis page and live health
    lease = StreamLease.objects.filter(camera=camera).first() if can_analyse else None
    context = {"camera": camera, "can_edit": is_admin_of(request.user, camera.ward), "can_analyse": can_analyse, "lease": lease}
    return render(request, "cameras/detail.html", context)


@login_required
def camera_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    if pk is None:
        ward = require_ward(request)
        camera = Camera(ward=ward)
    else:
        camera = get_object_or_404(Camera.objects.restrict(request.user), pk=pk)
        ward = camera.ward
    if not is_admin_of(request.user, ward):
        raise PermissionDenied(_("Only ward admins can register or change cameras."))
    form = CameraForm(request.POST or None, instance=camera, ward=ward)
    if request.method == "POST" and form.is_valid():
        camera = form.save(commit=False)
        save_camera(camera=camera, actor=request.user, request=request)
        messages.success(request, _("Camera %(code)s saved.") % {"code": camera.code})
        return redirect("camera-detail", pk=camera.pk)
    return render(request, "cameras/form.html", {"form": form, "camera": camera, "ward": ward})


def _pending_path(sha: str) -> Any:
    folder = settings.VAR_DIR / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / sha


@login_required
def camera_import(request: HttpRequest) -> HttpResponse:
    """Step 1 uploads and shows the dry run; step 2 ("import") saves every row or none."""
    admin_wards = Ward.objects.restrict(request.user, CHANGE)
    if not admin_wards.exists():
        raise PermissionDenied(_("Only ward admins can import cameras."))
    form = ImportForm(
        request.POST or None, request.FILES or None, wards=admin_wards, initial={"ward": getattr(request, "ward", None) or None}
    )
    report = None
    pending = request.session.get(PENDING_KEY)
    if request.method == "POST" and request.POST.get("step") == "import" and pending:
        data = _pending_path(pending["sha256"]).read_bytes()
        ward = admin_wards.filter(pk=pending.get("ward")).first()
        try:
            report = import_file(
                data=data,
                filename=pending["name"],
                wards=list(admin_wards),
                default_ward=ward,
                actor=request.user,
                dry_run=False,
                request=request,
            )
        except ImportFileError as exc:
            messages.error(request, str(exc))
        else:
            if report.ok:
                del request.session[PENDING_KEY]
                messages.success(request, _("%(n)d cameras imported.") % {"n": report.saved})
                return redirect("camera-list")
    elif request.method == "POST":
        # A new upload replaces whatever was waiting, even when it turns out unreadable.
        request.session.pop(PENDING_KEY, None)
    if request.method == "POST" and request.POST.get("step") != "import" and form.is_valid():
        upload = form.cleaned_data["file"]
        data = upload.read()
        ward = form.cleaned_data.get("ward")
        try:
            report = import_file(
                data=data, filename=upload.name, wards=list(admin_wards), default_ward=ward, actor=request.user, dry_run=True
            )
        except ImportFileError as exc:
            form.add_error("file", str(exc))
        else:
            sha = hashlib.sha256(data).hexdigest()
            _pending_path(sha).write_bytes(data)
            request.session[PENDING_KEY] = {"sha256": sha, "name": upload.name[:200], "ward": ward.pk if ward else None}
    return render(request, "cameras/import.html", {"form": form, "report": report, "pending": request.session.get(PENDING_KEY)})


@login_required
def camera_live(request: HttpRequest, pk: int) -> HttpResponse:
    """The latest frame the stream supervisor saved for the camera (``MEDIA_ROOT/live/<id>.jpg``).

    Viewers read this file, never the camera: however many walls are open, the camera has one
    connection, the supervisor's. For officers who handle alerts in the camera's ward; elsewhere 404.
    No audit entry per request: the wall asks every second, and opening the wall is audited.
    """
    ids = ward_ids_for(request.user, ALERT_ROLES)
    cameras = Camera.objects.all() if ids is None else Camera.objects.filter(ward_id__in=ids)
    camera = get_object_or_404(cameras.only("id"), pk=pk)
    path = Path(settings.MEDIA_ROOT) / "live" / f"{camera.pk}.jpg"
    try:
        # Read whole: the supervisor replaces the file (never rewrites it in place) while we serve.
        frame = path.read_bytes()
        taken = path.stat().st_mtime
    except FileNotFoundError:
        raise Http404(_("No live image of this camera yet.")) from None
    response = HttpResponse(frame, content_type="image/jpeg")
    response["Cache-Control"] = "no-store"
    response["Last-Modified"] = http_date(taken)  # the wall shows how old the frame is
    return response
