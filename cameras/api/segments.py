"""``/api/recording-segments/``: a camera's recorded footage, and its evidence hold.

Read by operators, investigators and admins; ``lock``/``unlock`` by investigators and admins, audited
(``unlock`` needs a ``reason``: it lets retention delete the footage). Segments are never deleted
through the API: retention deletes the oldest unlocked ones.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from cameras.evidence_hold import set_segment_lock
from cameras.models import RecordingSegment
from portal.api.base import StrictFieldsMixin, WardFilterSet, WardScopedViewSet


class RecordingSegmentFilterSet(WardFilterSet):
    camera = django_filters.NumberFilter(field_name="camera_id")
    since = django_filters.IsoDateTimeFilter(
        field_name="ended_at", lookup_expr="gt", help_text="Footage that ends after this time."
    )
    until = django_filters.IsoDateTimeFilter(
        field_name="started_at", lookup_expr="lt", help_text="Footage that starts before this time."
    )

    class Meta:
        model = RecordingSegment
        fields = ["ward", "camera", "locked"]


class RecordingSegmentSerializer(serializers.ModelSerializer):
    ward: Any = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    camera_code = serializers.CharField(source="camera.code", read_only=True)
    duration_s = serializers.SerializerMethodField()

    class Meta:
        model = RecordingSegment
        fields = ["id", "ward", "camera", "camera_code", "path", "started_at", "ended_at", "duration_s", "size", "locked"]
        read_only_fields = fields

    def get_duration_s(self, obj: RecordingSegment) -> float:
        return round((obj.ended_at - obj.started_at).total_seconds(), 3)


class HoldSerializer(StrictFieldsMixin, serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


class RecordingSegmentViewSet(WardScopedViewSet):
    __doc__ = __doc__

    http_method_names = ["get", "post", "head", "options"]
    queryset = (
        RecordingSegment.objects.select_related("ward", "camera")
        .defer("ward__boundary", "camera__fov", "camera__stream_username", "camera__stream_password")
        .order_by("camera_id", "-started_at", "-id")
    )
    serializer_class = RecordingSegmentSerializer
    filterset_class = RecordingSegmentFilterSet

    def create(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        # Segments are written by the recorder, not posted.
        return Response({"detail": _("Segments are written by the recorder; they cannot be posted.")}, status=405)

    def _hold(self, request: Request, *, locked: bool) -> Response:
        segment = self.get_object()  # 404 outside the caller's wards, 403 for operators (WardRolePermission)
        form = HoldSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        reason = form.validated_data.get("reason", "").strip()
        if not locked and not reason:
            raise serializers.ValidationError(
                {"reason": [_("Say why the hold is lifted: retention may then delete this footage.")]}
            )
        segment = set_segment_lock(segment=segment, locked=locked, actor=request.user, reason=reason, request=request)
        return Response(RecordingSegmentSerializer(segment, context=self.get_serializer_context()).data)

    @extend_schema(request=HoldSerializer, responses=RecordingSegmentSerializer)
    @action(detail=True, methods=["post"])
    def lock(self, request: Request, pk: str | None = None) -> Response:
        """Hold the segment as evidence: retention will not delete it."""
        return self._hold(request, locked=True)

    @extend_schema(request=HoldSerializer, responses=RecordingSegmentSerializer)
    @action(detail=True, methods=["post"])
    def unlock(self, request: Request, pk: str | None = None) -> Response:
        """Lift the hold (``reason`` required)."""
        return self._hold(request, locked=False)
