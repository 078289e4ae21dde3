"""What the pipeline found, read-only: ``/api/tracks/``, ``/api/face-sightings/`` (plate reads, which other
systems also write and investigators search, are in ``analytics/api/plates.py``).

Rows come from clip jobs (``job``) and live streams (``job`` null); ``model`` names the vision model
that produced each one. Crops are personal data: served by ``…/{id}/crop/`` under the same scoping
as the row (another ward's is 404), never as a public media URL. Face sightings are for
investigators and admins only, their embedding only on the detail, and every look at them is audited.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.http import FileResponse, Http404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import renderers, serializers
from rest_framework.decorators import action
from rest_framework.request import Request

from analytics.models import FaceSighting, Track, TrackClass
from portal.api.base import WardFilterSet, WardScopedViewSet
from portal.services import audit, client_ip


class ImageRenderer(renderers.BaseRenderer):
    """Lets an image action answer browsers' ``Accept: image/*`` (the body is a file, not data)."""

    media_type = "image/*"
    format = "jpg"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> Any:
        return data


def _crop_response(obj: Any) -> FileResponse:
    if not obj.crop:
        raise Http404(_("No image was kept for this row."))
    try:
        handle = obj.crop.open("rb")
    except FileNotFoundError:
        raise Http404(_("The image file is gone (removed by retention).")) from None
    content_type = "image/png" if obj.crop.name.lower().endswith(".png") else "image/jpeg"
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response


class ResultFilterSet(WardFilterSet):
    camera = django_filters.NumberFilter(field_name="camera_id")
    job = django_filters.NumberFilter(field_name="job_id", help_text="Clip analysis id.")


class TrackFilterSet(ResultFilterSet):
    # ``class`` is a Python keyword: declared below.
    since = django_filters.IsoDateTimeFilter(field_name="first_seen", lookup_expr="gte", help_text="First seen at or after.")
    until = django_filters.IsoDateTimeFilter(field_name="first_seen", lookup_expr="lt", help_text="First seen before.")

    class Meta:
        model = Track
        fields = ["ward", "camera", "job"]


TrackFilterSet.base_filters["class"] = django_filters.MultipleChoiceFilter(
    field_name="cls", choices=TrackClass.choices, distinct=False, help_text="Canonical class (repeat for several)."
)


class TrackSerializer(serializers.ModelSerializer):
    ward: Any = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    camera_code = serializers.CharField(source="camera.code", read_only=True, default=None)
    class_ = serializers.CharField(source="cls", read_only=True)

    class Meta:
        model = Track
        fields = [
            "id", "ward", "camera", "camera_code", "job", "key", "model", "class_", "first_seen", "last_seen",
            "dwell_s", "direction", "confidence", "path",
        ]  # fmt: skip

    def to_representation(self, instance: Any) -> Any:
        data = super().to_representation(instance)
        data["class"] = data.pop("class_")
        return data


class TrackViewSet(WardScopedViewSet):
    """Tracked objects (one row a track: class, first/last seen, dwell, direction, sampled path in image pixels)."""

    http_method_names = ["get", "head", "options"]
    queryset = (
        Track.objects.select_related("ward", "camera").defer("ward__boundary", "camera__fov").order_by("-first_seen", "-id")
    )
    serializer_class = TrackSerializer
    filterset_class = TrackFilterSet


class FaceSightingFilterSet(ResultFilterSet):
    since = django_filters.IsoDateTimeFilter(field_name="seen_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="seen_at", lookup_expr="lt")

    class Meta:
        model = FaceSighting
        fields = ["ward", "camera", "job"]


class FaceSightingSerializer(serializers.ModelSerializer):
    ward: Any = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    camera_code = serializers.CharField(source="camera.code", read_only=True, default=None)
    crop = serializers.SerializerMethodField()

    class Meta:
        model = FaceSighting
        fields = ["id", "ward", "camera", "camera_code", "job", "track", "model", "confidence", "seen_at", "crop"]

    def get_crop(self, obj: FaceSighting) -> str | None:
        return reverse("api:facesighting-crop", args=[obj.pk]) if obj.crop else None


class FaceSightingDetailSerializer(FaceSightingSerializer):
    class Meta(FaceSightingSerializer.Meta):
        fields = [*FaceSightingSerializer.Meta.fields, "embedding"]


class FaceSightingViewSet(WardScopedViewSet):
    """Faces seen in wards that enabled face detection (investigators and admins). The 128-d embedding
    is only on the detail; every list and detail is audited (biometric data, DESIGN.md §7)."""

    http_method_names = ["get", "head", "options"]
    queryset = (
        FaceSighting.objects.select_related("ward", "camera")
        .defer("ward__boundary", "camera__fov", "embedding")
        .order_by("-seen_at", "-id")
    )
    serializer_class = FaceSightingSerializer
    filterset_class = FaceSightingFilterSet

    def get_queryset(self) -> Any:
        queryset = super().get_queryset()
        return queryset.defer(None).defer("ward__boundary", "camera__fov") if self.action != "list" else queryset

    def get_serializer_class(self) -> Any:
        return FaceSightingDetailSerializer if self.action == "retrieve" else FaceSightingSerializer

    def list(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().list(request, *args, **kwargs)
        if response.status_code == 200:
            audit(
                action="face_sightings_listed",
                actor=request.user,
                detail={"query": request.GET.urlencode()[:300]},
                ip=client_ip(request),
            )
        return response

    def get_object(self) -> Any:
        obj = super().get_object()
        audit(action="face_sighting_viewed", actor=self.request.user, ward=obj.ward_id, obj=obj, ip=client_ip(self.request))
        return obj

    @extend_schema(responses={(200, "image/jpeg"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"], renderer_classes=[ImageRenderer])
    def crop(self, request: Request, pk: str | None = None) -> Any:
        """The face as the camera saw it."""
        return _crop_response(self.get_object())


__all__ = ["FaceSightingViewSet", "ImageRenderer", "ResultFilterSet", "TrackViewSet"]
