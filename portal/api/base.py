"""Base classes that apply tenancy to every API endpoint (STYLE.md §2).

A concrete viewset names its queryset, serializers and filterset; these bases
- scope every query with ``restrict(user, action)`` (another ward's object is 404),
- let only ward admins write, and only into their own wards,
- accept related objects only from the same ward as the row being written,
- refuse unknown fields instead of ignoring them,
- serve a GeoJSON FeatureCollection with ``?format=geojson`` where the model has geometry,
- write the audit entry for looks outside the user's home ward.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db import models, transaction
from django.utils.translation import gettext as _
from rest_framework import exceptions, permissions, serializers, viewsets
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer

from portal.api.pagination import GeoJsonPagination
from portal.api.renderers import GeoJSONRenderer
from portal.models import Ward, WardOwned
from portal.querysets import ALL_ROLES, CHANGE, VIEW, roles_for, ward_ids_for
from portal.services import audit_outside_home, delete_owned, save_owned


def request_user(context: dict[str, Any]) -> Any:
    request = context.get("request")
    return getattr(request, "user", None)


class StrictFieldsMixin:
    """Unknown fields are an error that names them, not silently dropped."""

    def to_internal_value(self, data: Any) -> Any:
        if hasattr(data, "keys"):
            known = set(self.fields)  # type: ignore[attr-defined]
            unknown = sorted(k for k in data if k not in known)
            if unknown:
                raise serializers.ValidationError(
                    {k: [_("Unknown field. Known fields: %(fields)s.") % {"fields": ", ".join(sorted(known))}] for k in unknown}
                )
        return super().to_internal_value(data)  # type: ignore[misc]


class WardOwnedSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """Writes land in a ward the user administers; related objects must belong to that ward."""

    ward = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Ward.objects.none(),
        required=False,
        help_text="Slug of the ward. Defaults to the caller's home ward when they administer it.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        user = request_user(self.context)
        if user is None:
            return
        if "ward" in self.fields and not self.fields["ward"].read_only:
            ward_field: Any = self.fields["ward"]
            ward_field.queryset = Ward.objects.restrict(user, CHANGE)
        for field in self.fields.values():
            relation: Any = getattr(field, "child_relation", field)
            queryset = getattr(relation, "queryset", None)
            if queryset is not None and issubclass(queryset.model, WardOwned):
                relation.queryset = queryset.model.objects.restrict(user, VIEW)

    def _default_ward(self) -> Ward:
        user = request_user(self.context)
        ids = ward_ids_for(user, roles_for(self.Meta.model, CHANGE))
        request = self.context.get("request")
        current = getattr(request, "ward", None)
        if current is not None and (ids is None or current.pk in ids):
            return current
        if ids and len(ids) == 1:
            return Ward.objects.get(pk=ids[0])
        raise serializers.ValidationError({"ward": [_("Say which ward: you administer several.")]})

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if self.instance is not None:
            if "ward" in attrs and attrs["ward"] != self.instance.ward:
                raise serializers.ValidationError({"ward": [_("A row cannot be moved to another ward.")]})
            ward = self.instance.ward
        else:
            ward = attrs.get("ward") or self._default_ward()
            attrs["ward"] = ward
        for name, value in attrs.items():
            values = value if isinstance(value, list | tuple) else [value]
            for item in values:
                if isinstance(item, WardOwned) and item.ward_id != ward.pk:
                    raise serializers.ValidationError(
                        {name: [_("Object %(id)s does not exist in ward %(ward)s.") % {"id": item.pk, "ward": ward.slug}]}
                    )
        return attrs

    # Writes go through services (validation, derived fields, audit).
    def save_instance(self, instance: models.Model) -> None:
        request = self.context.get("request")
        save_owned(obj=instance, actor=request_user(self.context), request=request)

    @transaction.atomic
    def create(self, validated_data: dict[str, Any]) -> Any:
        many = {k: validated_data.pop(k) for k in list(validated_data) if self._is_many(k)}
        model: Any = self.Meta.model
        instance = model(**validated_data)
        self.save_instance(instance)
        for key, value in many.items():
            getattr(instance, key).set(value)
        return instance

    @transaction.atomic
    def update(self, instance: Any, validated_data: dict[str, Any]) -> Any:
        many = {k: validated_data.pop(k) for k in list(validated_data) if self._is_many(k)}
        for key, value in validated_data.items():
            setattr(instance, key, value)
        self.save_instance(instance)
        for key, value in many.items():
            getattr(instance, key).set(value)
        return instance

    def _is_many(self, name: str) -> bool:
        field = self.fields.get(name)
        return isinstance(field, serializers.ManyRelatedField)


class WardRolePermission(permissions.BasePermission):
    """Read: any member (scoping hides other wards). Write: admins of the object's ward."""

    message = _("Your role in this ward does not allow this change.")

    def has_permission(self, request: Any, view: Any) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        # Writes to one row go on to get_object: a row the caller cannot see is 404 (like another
        # ward's), and one they see but may not change is 403 from has_object_permission.
        lookup = view.lookup_url_kwarg or view.lookup_field
        if lookup in view.kwargs:
            return True
        model = view.get_queryset().model
        ids = ward_ids_for(request.user, roles_for(model, CHANGE))
        return ids is None or bool(ids)

    def has_object_permission(self, request: Any, view: Any, obj: Any) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        ids = ward_ids_for(request.user, roles_for(type(obj), CHANGE))
        return ids is None or obj.ward_id in ids


class WardFilterSet(django_filters.FilterSet):
    """``?ward=<slug or id>``: narrow to one of the caller's own wards."""

    ward = django_filters.CharFilter(method="filter_ward", help_text="Slug or id of one of your wards.")

    def filter_ward(self, queryset: models.QuerySet, name: str, value: str) -> models.QuerySet:
        ward = find_own_ward(self.request, value)
        field = "id" if queryset.model is Ward else "ward_id"
        return queryset.filter(**{field: ward.pk})


def find_own_ward(request: Any, value: str) -> Ward:
    """The caller's ward by slug or id; the same error whether the ward exists or not.

    Remembered on the request: the filterset and the list's audit both ask for it.
    """
    found: dict[str, Ward | None] = request.__dict__.setdefault("_own_wards", {})
    if value not in found:
        lookup: dict[str, Any] = {"pk": int(value)} if value.isdigit() else {"slug": value}
        found[value] = Ward.objects.restrict(request.user).filter(**lookup).first()
    ward = found[value]
    if ward is None:
        raise exceptions.ValidationError({"ward": [_("“%(value)s” is not one of your wards.") % {"value": value}]})
    return ward


class WardScopedViewSet(viewsets.ModelViewSet):
    """Every endpoint over ward-owned rows derives from this; concrete classes stay a few lines."""

    permission_classes = [permissions.IsAuthenticated, WardRolePermission]
    geojson_serializer_class: type[serializers.Serializer] | None = None
    write_serializer_class: type[serializers.Serializer] | None = None

    def get_renderers(self) -> list[Any]:
        renderers: list[Any] = [JSONRenderer(), BrowsableAPIRenderer()]
        if self.geojson_serializer_class is not None:
            renderers.append(GeoJSONRenderer())
        return renderers

    @property
    def wants_geojson(self) -> bool:
        renderer = getattr(self.request, "accepted_renderer", None)
        return getattr(renderer, "format", None) == "geojson"

    @property
    def paginator(self) -> Any:
        if not hasattr(self, "_paginator"):
            self._paginator = GeoJsonPagination() if self.wants_geojson else super().paginator
        return self._paginator

    def get_serializer_class(self) -> Any:
        if self.wants_geojson and self.geojson_serializer_class is not None:
            return self.geojson_serializer_class
        return super().get_serializer_class()

    def get_queryset(self) -> Any:
        return self.queryset.restrict(self.request.user, VIEW)  # type: ignore[union-attr]

    def list(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().list(request, *args, **kwargs)
        ward_param = request.query_params.get("ward")
        if ward_param:
            scope = [find_own_ward(request, ward_param).pk]
        else:
            model = self.get_queryset().model
            scope = ward_ids_for(request.user, roles_for(model, VIEW)) or []
        audit_outside_home(user=request.user, ward_ids=scope, what=f"list {self.basename}", request=request)
        return response

    def get_object(self) -> Any:
        obj = super().get_object()
        ward_id = obj.pk if isinstance(obj, Ward) else getattr(obj, "ward_id", None)
        if ward_id is not None:
            audit_outside_home(user=self.request.user, ward_ids=[ward_id], what=f"{self.basename} {obj.pk}", request=self.request)
        return obj

    def perform_destroy(self, instance: Any) -> None:
        delete_owned(obj=instance, actor=self.request.user, request=self.request)


__all__ = ["ALL_ROLES", "WardFilterSet", "WardOwnedSerializer", "WardRolePermission", "WardScopedViewSet"]
