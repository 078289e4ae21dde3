"""Exports of cases and checking bundles.

* ``POST /api/cases/{id}/export/`` ``{"reason": "…", "redacted": false}`` → 202 with the export job
  (investigators and admins of the case's ward; another ward's case is 404);
* ``GET /api/exports/`` and ``/api/exports/{id}/``: ``status`` (queued, running, done, failed),
  ``progress`` (%), and when done ``download`` (the URL below), ``sha256`` and ``size`` of the bundle;
  when failed, ``error`` and ``missing`` (the evidence items that could not be exported and why);
* ``GET /api/exports/{id}/download/``: the bundle (each download is a custody entry of the case);
* ``GET /api/signing-key/`` (no login): the deployment's Ed25519 public key, its fingerprint and the
  C2PA root certificate: what anyone needs to check a bundle's origin;
* ``POST /api/verify/`` (no login) multipart ``bundle``: the verifier's report as JSON.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, permissions, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from incidents import exports
from incidents.keys import deployment_keys
from incidents.models import ExportJob, Incident
from incidents.verify import verify_bundle
from portal.api.base import StrictFieldsMixin, WardFilterSet, WardOwnedSerializer, WardScopedViewSet
from portal.api.fields import ChoiceLabelField
from portal.querysets import VIEW


class ExportJobSerializer(WardOwnedSerializer):
    ward = serializers.SlugRelatedField(slug_field="slug", read_only=True)  # type: ignore[assignment]
    case_number = serializers.CharField(source="case.number", read_only=True)
    status_label = ChoiceLabelField(ExportJob.Status.choices, source="status")
    download = serializers.SerializerMethodField(help_text="URL of the bundle once the export is done, else null.")
    created_by = serializers.CharField(source="created_by.username", read_only=True)

    class Meta:
        model = ExportJob
        fields = [
            "id",
            "ward",
            "case",
            "case_number",
            "status",
            "status_label",
            "progress",
            "redacted",
            "reason",
            "download",
            "sha256",
            "size",
            "key_fingerprint",
            "error",
            "missing",
            "summary",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_download(self, job: ExportJob) -> str | None:
        if job.status != ExportJob.Status.DONE:
            return None
        return reverse("api:exportjob-download", args=[job.pk])


class ExportRequestSerializer(StrictFieldsMixin, serializers.Serializer):
    reason = serializers.CharField(
        max_length=2000, help_text="Why the case is exported (required; written to the custody log and the audit)."
    )
    redacted = serializers.BooleanField(default=False, help_text="Blur faces and plates (for public release).")


class ExportJobFilterSet(WardFilterSet):
    case = django_filters.NumberFilter(field_name="case_id", help_text="Id of the case.")
    status = django_filters.MultipleChoiceFilter(choices=ExportJob.Status.choices, distinct=False)

    class Meta:
        model = ExportJob
        fields = ["ward", "case", "status"]


class ExportJobViewSet(WardScopedViewSet):
    """Exports of cases (investigators and admins), newest first. Start one with ``POST /api/cases/{id}/export/``."""

    http_method_names = ["get", "head", "options"]
    queryset = ExportJob.objects.select_related("ward", "case", "created_by").order_by("-created_at", "-id")
    serializer_class = ExportJobSerializer
    filterset_class = ExportJobFilterSet

    @extend_schema(responses={(200, "application/zip"): bytes})
    @action(detail=True, methods=["get"])
    def download(self, request: Request, pk: str | None = None) -> FileResponse:
        """The bundle (a zip); the download is written to the case's chain of custody."""
        job: ExportJob = self.get_object()
        if job.status != ExportJob.Status.DONE:
            raise exceptions.NotFound(_("The export is not finished (%(status)s).") % {"status": job.get_status_display()})
        try:
            handle = exports.open_download(job=job, actor=request.user, request=request)
        except FileNotFoundError:
            raise exceptions.NotFound(_("The bundle is no longer in storage. Export the case again.")) from None
        name = job.file.name.rsplit("/", 1)[-1]
        response = FileResponse(handle, as_attachment=True, filename=name, content_type="application/zip")
        response["Cache-Control"] = "private, no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response


class CaseExportView(APIView):
    """``POST /api/cases/{id}/export/``: queue an export of the case (202 with the job to poll)."""

    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(request=ExportRequestSerializer, responses={202: ExportJobSerializer})
    def post(self, request: Request, pk: int) -> Response:
        case = get_object_or_404(Incident.objects.restrict(request.user, VIEW).select_related("ward"), pk=pk)
        if not exports.may_export(request.user, case.ward_id):
            raise exceptions.PermissionDenied(_("Exports are for investigators and admins of the ward."))
        body = ExportRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            job = exports.queue_export(
                case=case,
                actor=request.user,
                reason=body.validated_data["reason"],
                redacted=body.validated_data["redacted"],
                request=request,
            )
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        job = ExportJob.objects.select_related("ward", "case", "created_by").get(pk=job.pk)
        return Response(ExportJobSerializer(job, context={"request": request}).data, status=status.HTTP_202_ACCEPTED)


def signing_key_info() -> dict[str, str]:
    keys = deployment_keys()
    return {
        "algorithm": "Ed25519",
        "fingerprint": keys.fingerprint,
        "public_key_pem": keys.public_key_pem.decode("ascii"),
        "c2pa_root_pem": keys.c2pa_root_pem.decode("ascii"),
    }


class SigningKeyView(APIView):
    """The deployment's manifest-signing public key and its fingerprint (public: no login)."""

    permission_classes = [permissions.AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(
        responses=inline_serializer(
            "SigningKey",
            {
                "algorithm": serializers.CharField(),
                "fingerprint": serializers.CharField(),
                "public_key_pem": serializers.CharField(),
                "c2pa_root_pem": serializers.CharField(),
            },
        )
    )
    def get(self, request: Request) -> Response:
        return Response(signing_key_info())


class VerifyView(APIView):
    """``POST /api/verify/`` multipart ``bundle``: check a bundle against this deployment's key (public)."""

    permission_classes = [permissions.AllowAny]
    authentication_classes: list[Any] = []
    parser_classes = [MultiPartParser]

    @extend_schema(
        request=inline_serializer("VerifyRequest", {"bundle": serializers.FileField()}),
        responses=inline_serializer("VerifyReport", {"ok": serializers.BooleanField(), "files": serializers.ListField()}),
    )
    def post(self, request: Request) -> Response:
        limit = exports.verify_upload_limit()
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit + 64 * 1024:
            return Response(
                {
                    "bundle": [
                        _("The file is larger than %(limit)s; check it with the command instead.")
                        % {"limit": filesizeformat(limit)}
                    ]
                },
                status=413,
            )
        upload = request.FILES.get("bundle")
        if upload is None:
            raise serializers.ValidationError({"bundle": [_("Attach the bundle (.zip) as “bundle”.")]})
        source = upload.temporary_file_path() if hasattr(upload, "temporary_file_path") else upload
        report = verify_bundle(source, trusted_keys=[deployment_keys().fingerprint], max_unpacked=2 * limit)
        return Response(report.as_dict())
