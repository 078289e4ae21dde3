"""Explicit fields only. Stream credentials are write-only; the API says whether they are set."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from cameras.models import Camera, CameraImport, Funding, Site, Sponsor
from cameras.services import queue_import, save_camera
from portal.api.base import WardOwnedSerializer, request_user
from portal.api.fields import ChoiceLabelField
from portal.api.fields import SafeGeometryField as GeometryField


class CameraSerializer(WardOwnedSerializer):
    location = GeometryField(
        geom_type="Point", help_text='GeoJSON point, e.g. {"type": "Point", "coordinates": [106.78, 10.84]}.'
    )
    fov = GeometryField(read_only=True, help_text="Field-of-view sector, derived from location, heading, angle, range.")
    old_ward: Any = serializers.PrimaryKeyRelatedField(read_only=True)
    old_ward_name = serializers.CharField(source="old_ward.name", read_only=True, default=None)
    stream_username = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=200)
    stream_password = serializers.CharField(
        write_only=True, required=False, allow_blank=True, max_length=200, style={"input_type": "password"}
    )
    has_stream_credentials = serializers.BooleanField(read_only=True)

    class Meta:
        model = Camera
        fields = [
            "id",
            "ward",
            "code",
            "name",
            "address",
            "location",
            "old_ward",
            "old_ward_name",
            "heading",
            "fov_angle",
            "range_m",
            "kind",
            "programme",
            "status",
            "site",
            "sponsor",
            "installed_on",
            "cost_vnd",
            "main_stream_url",
            "sub_stream_url",
            "stream_username",
            "stream_password",
            "has_stream_credentials",
            "retention_days",
            "analysis_fps",
            "fov",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        # Uniqueness of (ward, code) is checked by the service with a message naming the code.
        validators: list[Any] = []

    def save_instance(self, instance: Any) -> None:
        save_camera(camera=instance, actor=request_user(self.context), request=self.context.get("request"))


LAYER_FIELDS = [
    "id", "code", "name", "address", "status", "status_label", "programme", "programme_label",
    "kind", "kind_label", "heading", "fov_angle", "range_m", "old_ward",
]  # fmt: skip


class CameraLayerSerializer(GeoFeatureModelSerializer):
    """Slim map layer: the camera point (or its sector with ``?geometry=fov``) and what a popup shows."""

    location = GeometryField(read_only=True)
    status_label = ChoiceLabelField(Camera.Status.choices, source="status")
    programme_label = ChoiceLabelField(Camera.Programme.choices, source="programme")
    kind_label = ChoiceLabelField(Camera.Kind.choices, source="kind")

    class Meta:
        model = Camera
        geo_field = "location"
        # Each layer gets its own list: rest_framework_gis appends the geo field to Meta.fields in
        # place, and a list shared with a subclass would then carry both geometries.
        fields = [*LAYER_FIELDS, "location"]


class CameraSectorLayerSerializer(CameraLayerSerializer):
    location = None  # type: ignore[assignment]
    fov = GeometryField(read_only=True)

    class Meta(CameraLayerSerializer.Meta):
        geo_field = "fov"
        fields = [*LAYER_FIELDS, "fov"]


class SiteSerializer(WardOwnedSerializer):
    location = GeometryField(geom_type="Point", required=False, allow_null=True)
    camera_count = serializers.IntegerField(read_only=True, default=None)

    class Meta:
        model = Site
        fields = ["id", "ward", "code", "name", "address", "location", "note", "camera_count"]
        validators: list[Any] = []


class SiteLayerSerializer(GeoFeatureModelSerializer):
    class Meta:
        model = Site
        geo_field = "location"
        fields = ["id", "code", "name", "address"]


class SponsorSerializer(WardOwnedSerializer):
    class Meta:
        model = Sponsor
        fields = ["id", "ward", "name", "website", "note"]
        validators: list[Any] = []


class FundingSerializer(WardOwnedSerializer):
    cameras = serializers.PrimaryKeyRelatedField(many=True, queryset=Camera.objects.all(), required=False)

    class Meta:
        model = Funding
        fields = ["id", "ward", "sponsor", "amount_vnd", "date", "note", "cameras"]


class CameraImportSerializer(WardOwnedSerializer):
    """Upload a CSV or GeoJSON file; a worker checks every row and (unless ``dry_run``) saves all or none."""

    file = serializers.FileField(write_only=True, help_text="CSV with a header row, or a GeoJSON FeatureCollection of points.")
    dry_run = serializers.BooleanField(default=True, help_text="Check only (default). Send false to import.")
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True)

    class Meta:
        model = CameraImport
        fields = [
            "id",
            "ward",
            "file",
            "dry_run",
            "filename",
            "format",
            "sha256",
            "status",
            "status_label",
            "report",
            "created_by",
            "created_at",
            "finished_at",
        ]
        read_only_fields = ["filename", "format", "sha256", "status", "report", "created_at", "finished_at"]

    def validate_file(self, upload: Any) -> Any:
        from django.conf import settings

        if upload.size > settings.CAMERA_IMPORT_MAX_BYTES:
            raise serializers.ValidationError(
                f"The file is {upload.size} bytes; the limit is {settings.CAMERA_IMPORT_MAX_BYTES}. Split it into smaller files."
            )
        return upload

    def create(self, validated_data: dict[str, Any]) -> Any:
        upload = validated_data["file"]
        return queue_import(
            ward=validated_data["ward"],
            actor=request_user(self.context),
            filename=upload.name or "cameras.csv",
            data=upload.read(),
            dry_run=validated_data["dry_run"],
            request=self.context.get("request"),
        )
