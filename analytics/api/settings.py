"""``/api/analysis-settings/``: how each camera is analysed (one row per camera), with its live health.

Create with ``camera`` (id or code) and update with PATCH/PUT; there is no delete (turn ``live`` and
``record`` off instead). ``masks``/``zones``/``lines``/``rules`` are the pipeline's own schema
(``analytics/pipeline/config.py``) in pixels of the camera's snapshot; a bad item is a 400 keyed by
the list, whose message names the place (``zones.0.polygon: ...``, ``rules.1 (crowd).zones: ...``).

Live health is the read-only ``health`` object of each row (from the stream supervisor's lease):
``connected``, ``last_frame_at``, ``fps``, ``lag_s``, ``reconnects``, ``error``, ``recording``,
``worker`` and ``heartbeat_at``; ``null`` until a supervisor has watched the camera. We chose this
over a separate ``/api/cameras/{id}/health/`` so that one request gives a camera's analysis and how
it runs, for the same roles (operators, investigators, admins).
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from analytics import camera_settings
from analytics.api.serializers import CameraRefField
from analytics.models import AnalysisSettings
from cameras.models import Camera
from portal.api.base import WardFilterSet, WardOwnedSerializer, WardScopedViewSet, request_user
from portal.querysets import CHANGE, roles_for, ward_ids_for


class HealthSerializer(serializers.Serializer):
    connected = serializers.BooleanField()
    last_frame_at = serializers.DateTimeField(allow_null=True)
    fps = serializers.FloatField()
    lag_s = serializers.FloatField()
    reconnects = serializers.IntegerField()
    error = serializers.CharField()
    recording = serializers.BooleanField()
    worker = serializers.CharField(source="holder")
    heartbeat_at = serializers.DateTimeField(allow_null=True)


def camera_health(camera: Camera) -> dict[str, Any] | None:
    """The stream supervisor's last report on ``camera``, or ``None`` when none has watched it."""
    try:
        lease = camera.lease  # type: ignore[attr-defined]
    except ObjectDoesNotExist:
        return None
    return dict(HealthSerializer(lease).data)


class GeometryListField(serializers.JSONField):
    """A JSON array, checked item by item by the pipeline's schema in ``validate``."""

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)
        if not isinstance(value, list):
            raise serializers.ValidationError(_("Give a list (JSON array), even an empty one."))
        return value


class RetentionField(serializers.IntegerField):
    """The camera's ``retention_days``, edited here with the rest of its recording settings."""

    def get_attribute(self, instance: Any) -> Any:
        return instance.camera.retention_days


class AnalysisSettingsFilterSet(WardFilterSet):
    camera = django_filters.NumberFilter(field_name="camera_id")

    class Meta:
        model = AnalysisSettings
        fields = ["ward", "camera", "live", "record"]


class AnalysisSettingsSerializer(WardOwnedSerializer):
    camera = CameraRefField(queryset=Camera.objects.all(), help_text="Camera id, or its code. Cannot change later.")
    camera_code = serializers.CharField(source="camera.code", read_only=True)
    detectors = serializers.ListField(
        child=serializers.CharField(max_length=100),
        required=False,
        help_text="Names of installed vision models (see the page's choices); empty: the default model.",
    )
    faces_active = serializers.SerializerMethodField(
        help_text="Whether faces are detected: detect_faces and the ward has enabled face detection."
    )
    retention_days = RetentionField(
        required=False, min_value=1, max_value=3650, help_text="Days the camera's footage is kept (the camera's setting)."
    )
    masks = GeometryListField(required=False, help_text="[{name, kind: privacy|ignore, polygon: [[x, y], ...]}]")
    zones = GeometryListField(required=False, help_text="[{name, kind: intrusion|sidewalk|roadway, polygon: [[x, y], ...]}]")
    lines = GeometryListField(required=False, help_text="[{name, points: [[x, y], [x, y]], forward, backward}]")
    rules = GeometryListField(required=False, help_text="[{type, name, zones|lines, classes, ...}] as in the pipeline schema")
    health = serializers.SerializerMethodField()

    class Meta:
        model = AnalysisSettings
        fields = [
            "id", "ward", "camera", "camera_code", "live", "detectors", "read_plates", "detect_faces", "faces_active",
            "record", "segment_seconds", "retention_days", "image_width", "image_height", "masks", "zones", "lines",
            "rules", "health", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["updated_at"]

    def get_faces_active(self, obj: AnalysisSettings) -> bool:
        return bool(obj.detect_faces and obj.ward.faces_enabled)

    @extend_schema_field(HealthSerializer(allow_null=True))
    def get_health(self, obj: AnalysisSettings) -> dict[str, Any] | None:
        return camera_health(obj.camera)

    def validate_camera(self, camera: Camera) -> Camera:
        if self.instance is not None and camera.pk != self.instance.camera_id:
            raise serializers.ValidationError(_("Settings stay with their camera; edit the other camera's settings instead."))
        if self.instance is None and AnalysisSettings.objects.filter(camera=camera).exists():
            raise serializers.ValidationError(
                _("This camera already has analysis settings: change them with PATCH on their URL.")
            )
        return camera

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        camera = attrs.get("camera")
        if self.instance is None and "ward" not in attrs and camera is not None:
            # The settings belong to the camera's ward (when the caller administers it).
            ids = ward_ids_for(request_user(self.context), roles_for(AnalysisSettings, CHANGE))
            if ids is None or camera.ward_id in ids:
                attrs["ward"] = camera.ward
        attrs = super().validate(attrs)
        camera = attrs.get("camera") or getattr(self.instance, "camera", None)
        if camera is None:
            raise serializers.ValidationError({"camera": [_("Say which camera these settings are for.")]})
        values: dict[str, Any] = {}
        if self.instance is not None:
            values = {f.name: getattr(self.instance, f.name) for f in AnalysisSettings._meta.concrete_fields}
        values.update({k: v for k, v in attrs.items() if k not in ("camera", "ward", "retention_days")})
        try:
            camera_settings.check_settings(camera=camera, values=values)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        return attrs

    def _save(self, instance: AnalysisSettings, validated_data: dict[str, Any]) -> AnalysisSettings:
        retention = validated_data.pop("retention_days", None)
        for key, value in validated_data.items():
            setattr(instance, key, value)
        request = self.context.get("request")
        return camera_settings.save_analysis_settings(
            analysis=instance, actor=request_user(self.context), retention_days=retention, request=request
        )

    def create(self, validated_data: dict[str, Any]) -> Any:
        return self._save(AnalysisSettings(), validated_data)

    def update(self, instance: Any, validated_data: dict[str, Any]) -> Any:
        return self._save(instance, validated_data)


class AnalysisSettingsViewSet(WardScopedViewSet):
    __doc__ = __doc__

    http_method_names = ["get", "post", "put", "patch", "head", "options"]
    queryset = (
        AnalysisSettings.objects.select_related("ward", "camera", "camera__lease")
        .defer("ward__boundary", "camera__fov", "camera__stream_username", "camera__stream_password")
        .order_by("camera__code", "id")
    )
    serializer_class = AnalysisSettingsSerializer
    filterset_class = AnalysisSettingsFilterSet
