"""``/api/cases/`` and ``/api/evidence/``: case files, their evidence and chain of custody.

Cases: operators, investigators and admins read them; investigators and admins create and edit them
and move them through the workflow (``POST …/status/``); officials see none. Case files are records:
they are closed or referred, never deleted. Evidence and custody: investigators and admins only.
Every look at an evidence item's detail or file is a custody entry (``reason`` accepted, and required
to download).
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from incidents import services
from incidents.api import serializers as s
from incidents.models import EVIDENCE_ROLES, CustodyEntry, Evidence, Incident
from portal.api.base import WardFilterSet, WardScopedViewSet
from portal.querysets import VIEW, ward_ids_for

REASON = OpenApiParameter("reason", str, description="Why you look at it (written to the chain of custody).")


class CaseFilterSet(WardFilterSet):
    number = django_filters.CharFilter(field_name="number", lookup_expr="icontains", help_text="Part of the case number.")

    class Meta:
        model = Incident
        fields = ["ward", "status", "type", "number"]


def _evidence_queryset() -> Any:
    return Evidence.objects.select_related("ward", "case", "camera", "created_by").prefetch_related("segments")


def _may_see_evidence(user: Any, ward_id: int) -> None:
    ids = ward_ids_for(user, EVIDENCE_ROLES)
    if ids is not None and ward_id not in ids:
        raise exceptions.PermissionDenied(_("Evidence is for investigators and admins of the ward."))


def _reason(request: Request) -> str:
    return (request.query_params.get("reason") or "").strip()[: services.MAX_TEXT]


def file_response(*, evidence: Evidence, request: Request, inline: bool) -> FileResponse:
    """The evidence file, after its custody entry (``view`` inline, ``download`` as an attachment)."""
    if evidence.status != Evidence.Status.READY or not evidence.file:
        raise exceptions.NotFound(
            _("This evidence item has no file yet (%(status)s).") % {"status": evidence.get_status_display()}
        )
    services.view_evidence(
        evidence=evidence, actor=request.user, reason=_reason(request), request=request, action="view" if inline else "download"
    )
    ext = evidence.file.name.rsplit(".", 1)[-1]
    playable = evidence.content_type.startswith(("video/", "image/"))
    response = FileResponse(
        evidence.file.open("rb"),
        as_attachment=not (inline and playable),
        filename=f"{evidence.case.number}-{evidence.pk}.{ext}",
        content_type=evidence.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; media-src 'self'; img-src 'self'"
    response["Cache-Control"] = "private, no-store"
    return response


class CaseViewSet(WardScopedViewSet):
    __doc__ = __doc__

    http_method_names = ["get", "post", "patch", "put", "head", "options"]
    queryset = (
        Incident.objects.select_related("ward", "created_by")
        .defer("ward__boundary")
        .prefetch_related("alerts", "cameras", "plate_reads", "investigators")
        .order_by("-created_at", "-id")
    )
    serializer_class = s.CaseSerializer
    filterset_class = CaseFilterSet

    def get_queryset(self) -> Any:
        qs = super().get_queryset()
        if self.action in ("list", "retrieve", "create", "update", "partial_update"):
            return qs
        return Incident.objects.restrict(self.request.user, VIEW).select_related("ward")

    def _case_for_change(self) -> Incident:
        case: Incident = self.get_object()  # 404 outside the caller's wards
        ids = ward_ids_for(self.request.user, frozenset(Incident.ward_change_roles))
        if ids is not None and case.ward_id not in ids:
            raise exceptions.PermissionDenied(_("Your role in this ward does not allow this change."))
        return case

    @extend_schema(request=s.StatusSerializer, responses={200: s.CaseSerializer})
    @action(detail=True, methods=["post"])
    def status(self, request: Request, pk: str | None = None) -> Response:
        """Move the case along draft → open → investigating → closed | referred (closing needs a note)."""
        case = self._case_for_change()
        form = s.StatusSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        case = services.change_status(case=case, actor=request.user, request=request, **form.validated_data)
        return Response(s.CaseSerializer(self.get_queryset_for_output(case), context=self.get_serializer_context()).data)

    @extend_schema(request=s.HoldReleaseSerializer, responses={200: s.CaseSerializer})
    @action(detail=True, methods=["post"], url_path="release-hold")
    def release_hold(self, request: Request, pk: str | None = None) -> Response:
        """Let retention take the recordings behind this closed or referred case's clips (the clips stay)."""
        case = self._case_for_change()
        form = s.HoldReleaseSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        released = services.release_hold(case=case, actor=request.user, reason=form.validated_data["reason"], request=request)
        data = s.CaseSerializer(self.get_queryset_for_output(case), context=self.get_serializer_context()).data
        return Response({**data, "segments_unlocked": released})

    @extend_schema(request=s.LinkSerializer, responses={200: s.CaseSerializer})
    @action(detail=True, methods=["post"])
    def link(self, request: Request, pk: str | None = None) -> Response:
        """Link alerts, plate reads and cameras of the case's ward."""
        case = self._case_for_change()
        form = s.LinkSerializer(data=request.data, context=self.get_serializer_context())
        form.is_valid(raise_exception=True)
        services.link(case=case, actor=request.user, request=request, **form.validated_data)
        return Response(s.CaseSerializer(self.get_queryset_for_output(case), context=self.get_serializer_context()).data)

    def get_queryset_for_output(self, case: Incident) -> Incident:
        return self.queryset.get(pk=case.pk)  # type: ignore[union-attr]

    @extend_schema(methods=["GET"], responses={200: s.EvidenceSerializer(many=True)})
    @extend_schema(methods=["POST"], request=s.EvidenceRequestSerializer, responses={201: s.EvidenceSerializer})
    @action(detail=True, methods=["get", "post"], parser_classes=[MultiPartParser, FormParser, JSONParser])
    def evidence(self, request: Request, pk: str | None = None) -> Response:
        """The case's evidence by time; POST adds an upload (``file``), a clip (``camera``, ``start``,
        ``end``) or a snapshot (``kind=snapshot`` with ``camera`` + ``at``, or ``alert``)."""
        if request.method == "GET":
            case = self.get_object()
            _may_see_evidence(request.user, case.ward_id)
            items = _evidence_queryset().filter(case=case).order_by("requested_start", "created_at", "id")
            page = self.paginate_queryset(items)
            data = s.EvidenceSerializer(page, many=True, context=self.get_serializer_context()).data
            return self.get_paginated_response(data)
        case = self._case_for_change()
        _may_see_evidence(request.user, case.ward_id)
        form = s.EvidenceRequestSerializer(data=request.data, context=self.get_serializer_context())
        form.is_valid(raise_exception=True)
        data = form.validated_data
        common = {"case": case, "actor": request.user, "request": request, "note": data["note"], "reason": data["reason"]}
        if data["kind"] == Evidence.Kind.UPLOAD:
            evidence = services.add_upload(file=data["file"], **common)
        elif data["kind"] == Evidence.Kind.CLIP:
            evidence = services.add_clip(camera=data["camera"], start=data["start"], end=data["end"], **common)
        else:
            evidence = services.add_snapshot(camera=data.get("camera"), at=data.get("at"), alert=data.get("alert"), **common)
        evidence = _evidence_queryset().get(pk=evidence.pk)
        return Response(s.EvidenceSerializer(evidence, context=self.get_serializer_context()).data, status=201)

    @extend_schema(parameters=[REASON], responses={(200, "*/*"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"], url_path=r"evidence/(?P<eid>[0-9]+)/download")
    def evidence_download(self, request: Request, pk: str | None = None, eid: str | None = None) -> FileResponse:
        """The evidence file (``reason`` required; ``inline=1`` plays it in the page, recorded as a view)."""
        case = self.get_object()
        _may_see_evidence(request.user, case.ward_id)
        evidence = get_object_or_404(_evidence_queryset().filter(case=case), pk=eid)
        return file_response(evidence=evidence, request=request, inline=request.query_params.get("inline") == "1")

    @extend_schema(responses={200: s.CustodySerializer(many=True)})
    @action(detail=True, methods=["get"])
    def custody(self, request: Request, pk: str | None = None) -> Response:
        """The case's chain of custody, oldest first, and whether it is intact."""
        case = self.get_object()
        _may_see_evidence(request.user, case.ward_id)
        entries = CustodyEntry.objects.filter(case=case).order_by("seq")
        broken = services.verify_custody(case=case).get(case.pk, [])
        return Response(
            {
                "case": case.pk,
                "number": case.number,
                "intact": not broken,
                "broken": [e.seq for e in broken],
                "entries": s.CustodySerializer(entries, many=True).data,
            }
        )


class EvidenceFilterSet(WardFilterSet):
    class Meta:
        model = Evidence
        fields = ["ward", "case", "kind", "status", "camera"]


class EvidenceViewSet(WardScopedViewSet):
    """Evidence items of your wards' cases (investigators and admins). Reading one item's detail is a
    custody entry (``?reason=`` accepted); add evidence through ``POST /api/cases/{id}/evidence/``."""

    http_method_names = ["get", "head", "options"]
    queryset = _evidence_queryset().defer("ward__boundary").order_by("-created_at", "-id")
    serializer_class = s.EvidenceSerializer
    filterset_class = EvidenceFilterSet

    @extend_schema(parameters=[REASON])
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        evidence = self.get_object()
        services.view_evidence(evidence=evidence, actor=request.user, reason=_reason(request), request=request)
        return Response(self.get_serializer(evidence).data)

    @extend_schema(parameters=[REASON], responses={(200, "*/*"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def download(self, request: Request, pk: str | None = None) -> FileResponse:
        """The evidence file (``reason`` required)."""
        return file_response(evidence=self.get_object(), request=request, inline=request.query_params.get("inline") == "1")


__all__ = ["CaseViewSet", "EvidenceViewSet"]
