"""``/api/clip-jobs/``: upload a video for analysis, follow its progress, read its results, cancel it.

POST multipart ``file`` (+ optional ``camera`` id or code, ``recorded_at``) → 201 with the job; a
worker fills in ``progress``, then ``status`` done/failed/cancelled with ``summary`` (model, frames,
tracks by class, line counts, timeline, key frames) or ``error`` (what to fix). The upload goes to
disk in chunks (Django's temporary-file handler), never whole into memory; a request larger than
``CLIP_MAX_BYTES`` is refused from its Content-Length before a byte of it is read.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from analytics.api.serializers import CameraRefField
from analytics.clipjobs import job_error, queue_clip, request_cancel
from analytics.models import ClipJob
from cameras.models import Camera
from portal.api.base import WardFilterSet, WardOwnedSerializer, WardScopedViewSet, request_user
from portal.api.fields import ChoiceLabelField

#: Room for the multipart envelope and the other fields around the file.
ENVELOPE_BYTES = 64 * 1024


class ClipTooLarge(exceptions.APIException):
    status_code = 413
    default_code = "too_large"


def too_large(size: int) -> ClipTooLarge:
    return ClipTooLarge(
        {
            "file": [
                _("The file is %(size)s; clips up to %(limit)s can be analysed. Cut it into shorter parts and upload each.")
                % {"size": filesizeformat(size), "limit": filesizeformat(settings.CLIP_MAX_BYTES)}
            ]
        }
    )


class ClipJobSerializer(WardOwnedSerializer):
    file = serializers.FileField(write_only=True, help_text="The video (MP4, AVI, MKV, MOV...).")
    camera = CameraRefField(
        queryset=Camera.objects.all(),
        required=False,
        allow_null=True,
        help_text="Id or code of the camera that filmed it: its zones, lines and rules apply. Optional.",
    )
    camera_code = serializers.CharField(source="camera.code", read_only=True, default=None)
    recorded_at = serializers.DateTimeField(
        required=False, help_text="When the footage starts (ISO 8601 with offset); default: now. Result times count from it."
    )
    status_label = ChoiceLabelField(ClipJob.Status.choices, source="status")
    error = serializers.SerializerMethodField()
    summary = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="created_by.username", read_only=True)

    class Meta:
        model = ClipJob
        fields = [
            "id",
            "ward",
            "file",
            "filename",
            "size",
            "camera",
            "camera_code",
            "recorded_at",
            "status",
            "status_label",
            "progress",
            "cancel_requested",
            "error_code",
            "error",
            "model",
            "summary",
            "attempts",
            "links",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = [
            "filename",
            "size",
            "status",
            "progress",
            "cancel_requested",
            "error_code",
            "model",
            "attempts",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def validate_file(self, upload: Any) -> Any:
        if upload.size > settings.CLIP_MAX_BYTES:
            raise too_large(upload.size)
        if not upload.size:
            raise serializers.ValidationError(_("The file is empty (0 bytes). Upload the video again."))
        return upload

    def get_error(self, job: ClipJob) -> str:
        return job_error(job)

    def get_summary(self, job: ClipJob) -> dict[str, Any]:
        """The run's summary, with key frames as URLs."""
        summary = dict(job.summary or {})
        summary["key_frames"] = [
            {k: v for k, v in frame.items() if k != "path"} | {"url": reverse("clip-frame", args=[job.pk, i])}
            for i, frame in enumerate(summary.get("key_frames") or [])
        ]
        return summary

    def get_links(self, job: ClipJob) -> dict[str, str]:
        links = {
            "page": reverse("clip-job", args=[job.pk]),
            "cancel": reverse("api:clipjob-cancel", args=[job.pk]),
        }
        for name, route in (("tracks", "api:track-list"), ("plate_reads", "api:plateread-list"), ("alerts", "api:alert-list")):
            try:
                links[name] = reverse(route) + f"?job={job.pk}"
            except NoReverseMatch:  # that endpoint is not installed here
                continue
        return links

    def create(self, validated_data: dict[str, Any]) -> ClipJob:
        return queue_clip(
            ward=validated_data["ward"],
            actor=request_user(self.context),
            upload=validated_data["file"],
            camera=validated_data.get("camera"),
            recorded_at=validated_data.get("recorded_at"),
            request=self.context.get("request"),
        )


class ClipJobFilterSet(WardFilterSet):
    camera = django_filters.CharFilter(method="filter_camera", help_text="Camera id or code.")
    status = django_filters.MultipleChoiceFilter(choices=ClipJob.Status.choices, distinct=False)

    class Meta:
        model = ClipJob
        fields = ["ward", "camera", "status"]

    def filter_camera(self, queryset: Any, name: str, value: str) -> Any:
        if value.isdigit():
            return queryset.filter(camera_id=int(value))
        return queryset.filter(camera__code=value)


class ClipJobViewSet(WardScopedViewSet):
    """Uploaded clips analysed by the workers (operators, investigators, admins), newest first."""

    http_method_names = ["get", "post", "head", "options"]
    queryset = ClipJob.objects.select_related("ward", "camera", "created_by").order_by("-created_at", "-id")
    serializer_class = ClipJobSerializer
    filterset_class = ClipJobFilterSet
    # JSON too, so that a request without a file gets a 400 that names what is missing, not a 415.
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Refuse an oversized upload before the parser writes any of it to disk.
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.CLIP_MAX_BYTES + ENVELOPE_BYTES:
            raise too_large(length)
        return super().create(request, *args, **kwargs)

    @extend_schema(request=None, responses=ClipJobSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Stop a queued or running job; what it found so far is kept."""
        job = request_cancel(job=self.get_object(), actor=request.user, request=request)
        return Response(ClipJobSerializer(self.get_queryset().get(pk=job.pk), context=self.get_serializer_context()).data)
