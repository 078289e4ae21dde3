"""Serializers of case files, evidence and custody. Writes go through ``incidents.services``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.translation import gettext as _
from rest_framework import serializers

from analytics.api.serializers import CameraRefField
from analytics.models import Alert, PlateRead
from cameras.models import Camera
from incidents import services
from incidents.models import CASE_CHANGE_ROLES, CustodyEntry, Evidence, Incident
from portal.api.base import StrictFieldsMixin, WardOwnedSerializer, request_user
from portal.api.fields import ChoiceLabelField
from portal.api.fields import SafeGeometryField as GeometryField
from portal.models import Ward
from portal.querysets import VIEW, ward_ids_for

MAX_TEXT = services.MAX_TEXT


class CaseSerializer(WardOwnedSerializer):
    """A case file. ``number`` and ``status`` are set by the portal (status moves through ``…/status/``)."""

    number = serializers.CharField(read_only=True)
    type_label = ChoiceLabelField(Incident.Type.choices, source="type")
    status = serializers.ChoiceField(
        choices=[Incident.Status.DRAFT, Incident.Status.OPEN],
        required=False,
        help_text="draft or open when the case is created (default open); afterwards change it with POST …/status/.",
    )
    status_label = ChoiceLabelField(Incident.Status.choices, source="status")
    narrative = serializers.CharField(required=False, allow_blank=True, max_length=MAX_TEXT)
    location = GeometryField(geom_type="Point", required=False, allow_null=True, help_text="GeoJSON Point inside the ward.")
    cameras: Any = serializers.PrimaryKeyRelatedField(many=True, required=False, queryset=Camera.objects.all())
    investigators: Any = serializers.SlugRelatedField(
        slug_field="username", many=True, required=False, queryset=get_user_model().objects.all()
    )
    plate_reads: Any = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    alerts: Any = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True)

    class Meta:
        model = Incident
        fields = [
            "id", "ward", "number", "type", "type_label", "status", "status_label", "title", "narrative",
            "location", "occurred_at", "camera", "cameras", "investigators", "plate_reads", "alerts",
            "closing_note", "closed_at", "hold_released_at", "created_by", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["camera", "closing_note", "closed_at", "hold_released_at", "created_at", "updated_at"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        user = request_user(self.context)
        if user is not None and "ward" in self.fields:
            ids = ward_ids_for(user, CASE_CHANGE_ROLES)
            ward_field: Any = self.fields["ward"]
            ward_field.queryset = Ward.objects.all() if ids is None else Ward.objects.filter(id__in=ids)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is not None and "status" in attrs:
            raise serializers.ValidationError({"status": [_("Change the status with POST …/status/ (it needs a note).")]})
        return super().validate(attrs)

    def create(self, validated_data: dict[str, Any]) -> Incident:
        request = self.context.get("request")
        return services.create_case(actor=request_user(self.context), request=request, **validated_data)

    def update(self, instance: Incident, validated_data: dict[str, Any]) -> Incident:
        validated_data.pop("ward", None)
        request = self.context.get("request")
        return services.update_case(case=instance, actor=request_user(self.context), request=request, **validated_data)


class StatusSerializer(StrictFieldsMixin, serializers.Serializer):
    status = serializers.ChoiceField(choices=Incident.Status.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=MAX_TEXT)


class HoldReleaseSerializer(StrictFieldsMixin, serializers.Serializer):
    reason = serializers.CharField(max_length=MAX_TEXT)


class LinkSerializer(StrictFieldsMixin, serializers.Serializer):
    """Alerts, plate reads and cameras of the case's ward to link to it."""

    alerts = serializers.PrimaryKeyRelatedField(many=True, required=False, queryset=Alert.objects.all())
    plate_reads = serializers.PrimaryKeyRelatedField(many=True, required=False, queryset=PlateRead.objects.all())
    cameras = serializers.PrimaryKeyRelatedField(many=True, required=False, queryset=Camera.objects.all())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        user = request_user(self.context)
        for name in ("alerts", "plate_reads", "cameras"):
            relation: Any = self.fields[name]
            relation.child_relation.queryset = relation.child_relation.queryset.model.objects.restrict(user, VIEW)


class EvidenceRequestSerializer(StrictFieldsMixin, serializers.Serializer):
    """What to add: ``file`` (multipart upload), or ``camera`` + ``start`` + ``end`` (a clip), or
    ``kind=snapshot`` + ``camera`` + ``at`` (a still from the recordings) or + ``alert`` (its snapshot)."""

    kind = serializers.ChoiceField(choices=Evidence.Kind.choices, required=False)
    file = serializers.FileField(required=False, allow_empty_file=True)
    camera = CameraRefField(queryset=Camera.objects.all(), required=False)
    start = serializers.DateTimeField(required=False)
    end = serializers.DateTimeField(required=False)
    at = serializers.DateTimeField(required=False)
    alert = serializers.PrimaryKeyRelatedField(queryset=Alert.objects.all(), required=False)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=MAX_TEXT)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=MAX_TEXT)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        user = request_user(self.context)
        camera: Any = self.fields["camera"]
        camera.queryset = Camera.objects.restrict(user, VIEW)
        alert: Any = self.fields["alert"]
        alert.queryset = Alert.objects.restrict(user, VIEW)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = attrs.get("kind")
        if kind is None:
            kind = Evidence.Kind.UPLOAD if "file" in attrs else Evidence.Kind.CLIP
            attrs["kind"] = kind
        if kind == Evidence.Kind.UPLOAD and "file" not in attrs:
            raise serializers.ValidationError({"file": [_("Attach the file.")]})
        if kind == Evidence.Kind.CLIP:
            missing = [name for name in ("camera", "start", "end") if name not in attrs]
            if missing:
                raise serializers.ValidationError({name: [_("A clip needs camera, start and end.")] for name in missing})
        if kind == Evidence.Kind.SNAPSHOT and "alert" not in attrs:
            missing = [name for name in ("camera", "at") if name not in attrs]
            if missing:
                raise serializers.ValidationError(
                    {name: [_("A snapshot needs camera and at (or an alert).")] for name in missing}
                )
        return attrs


class EvidenceSerializer(serializers.ModelSerializer):
    ward: Any = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    case_number = serializers.CharField(source="case.number", read_only=True)
    kind_label = ChoiceLabelField(Evidence.Kind.choices, source="kind")
    status_label = ChoiceLabelField(Evidence.Status.choices, source="status")
    camera_code = serializers.CharField(source="camera.code", read_only=True, default=None)
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    segments: Any = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    download = serializers.SerializerMethodField(help_text="Scoped download URL (add ?reason=…); null until ready.")

    class Meta:
        model = Evidence
        fields = [
            "id", "ward", "case", "case_number", "kind", "kind_label", "status", "status_label", "error", "camera",
            "camera_code", "requested_start", "requested_end", "true_start", "true_end", "sha256", "size",
            "content_type", "original_name", "note", "segments", "created_by", "created_at", "ready_at", "download",
        ]  # fmt: skip
        read_only_fields = fields

    def get_download(self, obj: Evidence) -> str | None:
        if obj.status != Evidence.Status.READY:
            return None
        return reverse("api:case-evidence-download", args=[obj.case_id, obj.pk])


class CustodySerializer(serializers.ModelSerializer):
    class Meta:
        model = CustodyEntry
        fields = [
            "id", "seq", "case", "case_number", "evidence", "evidence_sha256", "at", "actor_name", "action", "reason",
            "detail", "prev_hash", "hash",
        ]  # fmt: skip
        read_only_fields = fields
