from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from analytics.live import camera_payload
from analytics.models import Alert, AlertEvent, AlertType, Severity, Webhook, WebhookDelivery
from analytics.outbound import MIN_SECRET_LENGTH, new_secret, validate_webhook_url
from analytics.services import MAX_NOTE, raise_alert
from cameras.models import Camera
from portal.api.base import StrictFieldsMixin, WardOwnedSerializer, request_user
from portal.api.fields import ChoiceLabelField

MAX_SNAPSHOT_BYTES = 5 * 1024 * 1024


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}], "description": "Camera id or code."})
class CameraRefField(serializers.PrimaryKeyRelatedField):
    """A camera by id, or by code when the code is unique among the caller's cameras."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str) and not data.isdigit():
            matches = list(self.get_queryset().filter(code=data)[:2])
            if len(matches) == 1:
                return matches[0]
            if matches:
                raise serializers.ValidationError(
                    _("Several of your cameras have code %(code)s: give the camera id.") % {"code": data}
                )
            raise serializers.ValidationError(_("No camera with code %(code)s in your wards.") % {"code": data})
        return super().to_internal_value(data)


class AlertSerializer(WardOwnedSerializer):
    """Read an alert; POST raises a manual one (``camera``, ``type``, ``note``, optional ``severity``, ``snapshot``)."""

    camera = CameraRefField(queryset=Camera.objects.all(), help_text="Camera id, or its code.")
    camera_code = serializers.SerializerMethodField(
        help_text="The camera's code (for a hit seen in another ward, that camera's)."
    )
    camera_name = serializers.SerializerMethodField(
        help_text="The camera's name (for a hit seen in another ward, ward · camera)."
    )
    type = serializers.ChoiceField(choices=AlertType.choices, default=AlertType.MANUAL)
    type_label = ChoiceLabelField(AlertType.choices, source="type")
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    severity_label = ChoiceLabelField(Severity.choices, source="severity")
    status_label = ChoiceLabelField(Alert.Status.choices, source="status")
    note = serializers.CharField(required=False, allow_blank=True, max_length=MAX_NOTE)
    assigned_to = serializers.CharField(source="assigned_to.username", read_only=True, default=None)
    snapshot = serializers.ImageField(required=False, allow_null=True)

    class Meta:
        model = Alert
        fields = [
            "id", "ward", "camera", "camera_code", "camera_name", "type", "type_label", "severity", "severity_label",
            "status", "status_label", "note", "snapshot", "raised_at", "last_seen_at", "count", "assigned_to",
            "handled_at", "dismiss_reason", "incident", "job", "details",
        ]  # fmt: skip
        read_only_fields = [
            "status", "raised_at", "last_seen_at", "count", "handled_at", "dismiss_reason", "incident", "job", "details",
        ]  # fmt: skip

    def get_camera_code(self, instance: Alert) -> str:
        return str(camera_payload(instance)["code"])

    def get_camera_name(self, instance: Alert) -> str:
        return str(camera_payload(instance)["name"])

    def to_representation(self, instance: Any) -> Any:
        data = super().to_representation(instance)
        # Snapshots are personal data: served by a ward-scoped view, never as a public media URL.
        data["snapshot"] = reverse("alert-snapshot", args=[instance.pk]) if instance.snapshot else None
        return data

    def validate_snapshot(self, value: Any) -> Any:
        if value is not None and value.size > MAX_SNAPSHOT_BYTES:
            raise serializers.ValidationError(_("The snapshot is larger than 5 MB; send a smaller JPEG."))
        return value

    def create(self, validated_data: dict[str, Any]) -> Any:
        alert, _event = raise_alert(
            camera=validated_data["camera"],
            type=validated_data.get("type", AlertType.MANUAL),
            severity=validated_data.get("severity"),
            note=validated_data.get("note", ""),
            snapshot=validated_data.get("snapshot"),
            actor=request_user(self.context),
            request=self.context.get("request"),
        )
        return alert


class AlertEventSerializer(serializers.ModelSerializer):
    ward: Any = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    actor = serializers.CharField(source="actor.username", read_only=True, default=None)
    kind_label = ChoiceLabelField(AlertEvent.Kind.choices, source="kind")

    class Meta:
        model = AlertEvent
        fields = ["id", "ward", "alert", "kind", "kind_label", "actor", "note", "at"]


class NoteSerializer(StrictFieldsMixin, serializers.Serializer):
    note = serializers.CharField(max_length=MAX_NOTE, required=False, allow_blank=True, default="")


class ReasonSerializer(StrictFieldsMixin, serializers.Serializer):
    reason = serializers.CharField(max_length=MAX_NOTE)


class AssignSerializer(StrictFieldsMixin, serializers.Serializer):
    assignee = serializers.SlugRelatedField(slug_field="username", queryset=get_user_model().objects.all())


class WebhookSerializer(WardOwnedSerializer):
    """A ward's webhook. The secret is write-only: generated when left out, shown once in the create response."""

    url = serializers.CharField(
        max_length=500, help_text="https:// (or http://) address of the receiver; internal addresses need allow_internal."
    )
    secret = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=200,
        style={"input_type": "password"},
        help_text="HMAC-SHA256 key (16+ characters). Leave out on create to get a generated one; send to replace.",
    )
    event_kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=AlertEvent.Kind.choices),
        required=False,
        allow_empty=True,
        help_text="Alert event kinds to send; empty sends every kind.",
    )
    min_severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    min_severity_label = serializers.CharField(source="get_min_severity_display", read_only=True)

    class Meta:
        model = Webhook
        fields = [
            "id", "ward", "name", "url", "secret", "event_kinds", "min_severity", "min_severity_label", "active",
            "allow_internal", "created_at",
        ]  # fmt: skip
        read_only_fields = ["created_at"]
        # Uniqueness of (ward, name) is checked by model validation with a message of its own.
        validators: list[Any] = []

    def validate_secret(self, value: str) -> str:
        if not value and self.instance is not None:
            raise serializers.ValidationError(_("Leave the secret out to keep it, or send a new one."))
        if value and len(value) < MIN_SECRET_LENGTH:
            raise serializers.ValidationError(
                _("Use a secret of at least %(n)d characters, or leave it out to get a generated one.") % {"n": MIN_SECRET_LENGTH}
            )
        return value

    def validate_event_kinds(self, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if self.instance is None or "url" in attrs or "allow_internal" in attrs:
            url = attrs.get("url", getattr(self.instance, "url", ""))
            allow_internal = attrs.get("allow_internal", getattr(self.instance, "allow_internal", False))
            try:
                attrs["url"] = validate_webhook_url(url, allow_internal).url
            except DjangoValidationError as exc:
                raise serializers.ValidationError({"url": exc.messages})
        if self.instance is None and not attrs.get("secret"):
            attrs["secret"] = new_secret()
        return attrs


class WebhookDeliverySerializer(serializers.ModelSerializer):
    """One line of the delivery log: what was sent to which hook, how many tries, the last answer."""

    ward: Any = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    webhook_name = serializers.CharField(source="webhook.name", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id", "ward", "webhook", "webhook_name", "event", "kind", "status", "status_label", "attempts",
            "last_status_code", "last_error", "next_attempt_at", "delivered_at", "created_at", "payload",
        ]  # fmt: skip
        read_only_fields = fields


class WebhookCreatedSerializer(WebhookSerializer):
    """The create response: the hook with its secret, this once."""

    secret = serializers.CharField(read_only=True, help_text="Keep it now: it is never shown again.")
