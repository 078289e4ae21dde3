from __future__ import annotations

from typing import Any

from django.db.models import Count
from rest_framework.parsers import FormParser, MultiPartParser

from cameras.api import serializers as s
from cameras.filtersets import (
    CameraFilterSet,
    CameraImportFilterSet,
    FundingFilterSet,
    SiteFilterSet,
    SponsorFilterSet,
)
from cameras.models import Camera, CameraImport, Funding, Site, Sponsor
from portal.api.base import WardScopedViewSet


class CameraViewSet(WardScopedViewSet):
    """Cameras of your wards. ``?format=geojson`` gives the map layer; add ``geometry=fov`` for sectors."""

    queryset = (
        Camera.objects.select_related("ward", "old_ward").defer("ward__boundary", "old_ward__boundary").order_by("code", "id")
    )
    serializer_class = s.CameraSerializer
    geojson_serializer_class = s.CameraLayerSerializer
    filterset_class = CameraFilterSet

    def get_serializer_class(self) -> Any:
        if self.wants_geojson and self.request.query_params.get("geometry") == "fov":
            return s.CameraSectorLayerSerializer
        return super().get_serializer_class()

    def get_queryset(self) -> Any:
        queryset = super().get_queryset()
        if self.wants_geojson:
            # The layer needs few columns; skip the encrypted ones and the unused geometry.
            geometry = "fov" if self.request.query_params.get("geometry") == "fov" else "location"
            queryset = queryset.only(
                "id",
                "ward_id",
                "code",
                "name",
                "address",
                "status",
                "programme",
                "kind",
                "heading",
                "fov_angle",
                "range_m",
                "old_ward_id",
                geometry,
            ).select_related(None)
        return queryset


class SiteViewSet(WardScopedViewSet):
    queryset = Site.objects.select_related("ward").annotate(camera_count=Count("cameras")).order_by("code")
    serializer_class = s.SiteSerializer
    geojson_serializer_class = s.SiteLayerSerializer
    filterset_class = SiteFilterSet


class SponsorViewSet(WardScopedViewSet):
    queryset = Sponsor.objects.select_related("ward").order_by("name")
    serializer_class = s.SponsorSerializer
    filterset_class = SponsorFilterSet


class FundingViewSet(WardScopedViewSet):
    queryset = Funding.objects.select_related("ward").prefetch_related("cameras").order_by("-date", "id")
    serializer_class = s.FundingSerializer
    filterset_class = FundingFilterSet


class CameraImportViewSet(WardScopedViewSet):
    """Legacy camera import jobs (ward admins). POST a file; poll the job until ``status`` is final."""

    http_method_names = ["get", "post", "head", "options"]
    queryset = CameraImport.objects.select_related("ward", "created_by").order_by("-created_at", "-id")
    serializer_class = s.CameraImportSerializer
    filterset_class = CameraImportFilterSet
    parser_classes = [MultiPartParser, FormParser]

    def create(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().create(request, *args, **kwargs)
        response.status_code = 202
        return response
