from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from analytics.models import FaceSighting
from portal.api.base import StrictFieldsMixin, WardOwnedSerializer, request_user
from portal.api.fields import ChoiceLabelField
from portal.models import Ward
from portal.querysets import ward_ids_for
from watchlists import services
from watchlists.models import WATCHLIST_ROLES, Priority, WatchlistEntry, WatchlistHit

MAX_TEXT = services.MAX_TEXT


def watch_wards(user: Any) -> Any:
    """Wards where ``user`` may propose (investigator or admin)."""
    ids = ward_ids_for(user, WATCHLIST_ROLES)
    return Ward.objects.all() if ids is None else Ward.objects.filter(pk__in=ids)


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}], "description": "Ward id or slug."})
class WardRefField(serializers.SlugRelatedField):
    """One of the caller's wards, by id or slug; any other is refused without saying whether it exists."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="slug", **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        queryset = self.get_queryset()
        value = str(data).strip()
        found = (
            queryset.filter(pk=int(value)).first() if value.isdigit() else queryset.filter(slug=value).first() if value else None
        )
        if found is None:
            raise serializers.ValidationError(_("“%(value)s” is not one of your wards.") % {"value": value})
        return found


class CoveredWardsField(serializers.ListField):
    """In: ward ids or slugs. Out: the covered wards' slugs."""

    def to_representation(self, data: Any) -> list[str]:
        return sorted(w.slug for w in data.all())


class WatchlistEntrySerializer(WardOwnedSerializer):
    """A watchlist entry. POST proposes one (pending until another admin of its ward approves it)."""

    kind = serializers.ChoiceField(choices=WatchlistEntry.Kind.choices, default=WatchlistEntry.Kind.PLATE)
    kind_label = ChoiceLabelField(WatchlistEntry.Kind.choices, source="kind")
    plate = serializers.CharField(
        required=False, allow_blank=True, max_length=32, help_text="The plate, e.g. 51F-123.45 (plate entries)."
    )
    face_sighting = serializers.PrimaryKeyRelatedField(
        queryset=FaceSighting.objects.all(),
        required=False,
        allow_null=True,
        help_text="Id of the face sighting whose face is wanted (face entries, wards with faces enabled).",
    )
    threshold = serializers.FloatField(required=False, min_value=0.1, max_value=1.0)
    reason = serializers.CharField(max_length=MAX_TEXT, help_text="Why the plate or face is wanted (audited).")
    legal_basis = serializers.CharField(max_length=MAX_TEXT, help_text="The decision or provision that allows it.")
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.HIGH)
    priority_label = ChoiceLabelField(Priority.choices, source="priority")
    covered_wards = CoveredWardsField(
        child=WardRefField(queryset=Ward.objects.none()),
        required=False,
        help_text="Ids or slugs of the wards where a hit raises an alert (your wards; the entry's ward is always one).",
    )
    status_label = ChoiceLabelField(WatchlistEntry.Status.choices, source="status")
    proposed_by = serializers.CharField(source="proposed_by.username", read_only=True)
    approved_by = serializers.CharField(source="approved_by.username", read_only=True, default=None)
    closed_by = serializers.CharField(source="closed_by.username", read_only=True, default=None)

    class Meta:
        model = WatchlistEntry
        fields = [
            "id", "ward", "kind", "kind_label", "plate", "text", "search_key", "face_sighting", "threshold",
            "reason", "legal_basis", "priority", "priority_label", "covered_wards", "status", "status_label",
            "proposed_by", "created_at", "approved_by", "approved_at", "expires_at", "closed_by", "closed_at",
            "close_reason",
        ]  # fmt: skip
        read_only_fields = ["text", "search_key", "status", "created_at", "approved_at", "closed_at", "close_reason"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        user = request_user(self.context)
        if user is None:
            return
        wards = watch_wards(user)
        ward_field: Any = self.fields["ward"]
        ward_field.queryset = wards
        covered: Any = self.fields["covered_wards"]
        covered.child.queryset = wards

    def create(self, validated_data: dict[str, Any]) -> Any:
        return services.propose(
            actor=request_user(self.context),
            ward=validated_data["ward"],
            kind=validated_data.get("kind", WatchlistEntry.Kind.PLATE),
            plate=validated_data.get("plate", ""),
            face_sighting=validated_data.get("face_sighting"),
            threshold=validated_data.get("threshold"),
            reason=validated_data["reason"],
            legal_basis=validated_data["legal_basis"],
            priority=validated_data.get("priority", Priority.HIGH),
            covered_wards=validated_data.get("covered_wards", []),
            expires_at=validated_data["expires_at"],
            request=self.context.get("request"),
        )


class ApproveSerializer(StrictFieldsMixin, serializers.Serializer):
    note = serializers.CharField(max_length=MAX_TEXT, required=False, allow_blank=True, default="")


class CloseSerializer(StrictFieldsMixin, serializers.Serializer):
    reason = serializers.CharField(max_length=MAX_TEXT, help_text="Why (audited).")


class WatchlistHitSerializer(serializers.ModelSerializer):
    class Meta:
        model = WatchlistHit
        fields = ["id", "entry", "plate_read", "face_sighting", "seen_at", "distance", "details", "created_at"]


__all__ = ["ApproveSerializer", "CloseSerializer", "WatchlistEntrySerializer", "WatchlistHitSerializer"]
