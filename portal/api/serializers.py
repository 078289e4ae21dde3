from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from portal.api.base import StrictFieldsMixin, WardOwnedSerializer
from portal.api.fields import SafeGeometryField as GeometryField
from portal.models import Membership, OldWard, Ward


class WardSerializer(serializers.ModelSerializer):
    boundary = GeometryField(read_only=True)

    class Meta:
        model = Ward
        fields = ["id", "name", "slug", "code", "boundary"]


class WardLayerSerializer(GeoFeatureModelSerializer):
    class Meta:
        model = Ward
        geo_field = "boundary"
        fields = ["id", "name", "slug", "code"]


class OldWardSerializer(WardOwnedSerializer):
    boundary = GeometryField(geom_type="Polygon|MultiPolygon", help_text="GeoJSON Polygon or MultiPolygon in WGS 84.")

    class Meta:
        model = OldWard
        fields = ["id", "ward", "name", "boundary"]
        validators: list[Any] = []

    def validate_boundary(self, value: Any) -> Any:
        from django.contrib.gis.geos import MultiPolygon, Polygon

        if isinstance(value, Polygon):
            value = MultiPolygon(value, srid=4326)
        if not isinstance(value, MultiPolygon):
            raise serializers.ValidationError(_("The boundary must be a Polygon or MultiPolygon."))
        if not value.valid:
            raise serializers.ValidationError(
                _("The boundary is not a valid polygon: %(reason)s.") % {"reason": value.valid_reason}
            )
        return value


class OldWardLayerSerializer(GeoFeatureModelSerializer):
    class Meta:
        model = OldWard
        geo_field = "boundary"
        fields = ["id", "name"]


class AreaCoverageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    area_m2 = serializers.FloatField()
    covered_m2 = serializers.FloatField()
    share = serializers.FloatField(help_text="Covered share of the area, 0–1.")


class WardCoverageSerializer(serializers.Serializer):
    ward = AreaCoverageSerializer()
    old_wards = AreaCoverageSerializer(many=True)


class MembershipSerializer(serializers.ModelSerializer):
    ward = serializers.SerializerMethodField()
    role_label = serializers.CharField(source="get_role_display")

    class Meta:
        model = Membership
        fields = ["ward", "role", "role_label", "is_home"]

    def get_ward(self, obj: Membership) -> dict[str, Any]:
        return {"id": obj.ward_id, "slug": obj.ward.slug, "name": obj.ward.name}


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    full_name = serializers.CharField()
    is_superuser = serializers.BooleanField()
    memberships = MembershipSerializer(many=True)


class TokenRequestSerializer(StrictFieldsMixin, serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, style={"input_type": "password"}, trim_whitespace=False)


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField()
