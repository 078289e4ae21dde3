"""Camera filters: ward, old ward, status, kind, programme, sponsor, site, bbox, distance, text."""

from __future__ import annotations

import math

import django_filters
from django.contrib.gis.geos import Point, Polygon
from django.contrib.gis.measure import D
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError

from cameras.geometry import METRES_PER_DEGREE_LAT
from cameras.models import Camera, CameraImport, Funding, Site, Sponsor
from portal.api.base import WardFilterSet

MAX_RADIUS_M = 20_000


def parse_floats(value: str, count: int, field: str, shape: str) -> list[float]:
    """``count`` longitudes and latitudes (alternating, longitude first), each finite and in range."""
    try:
        numbers = [float(v) for v in value.split(",")]
    except ValueError:
        numbers = []
    in_range = all(math.isfinite(n) and abs(n) <= (180 if i % 2 == 0 else 90) for i, n in enumerate(numbers))
    if len(numbers) != count or not in_range:
        raise ValidationError(
            {field: [_("Write it as %(shape)s in degrees (longitude -180–180, latitude -90–90).") % {"shape": shape}]}
        )
    return numbers


class CameraFilterSet(WardFilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Camera.Status.choices, distinct=False)
    kind = django_filters.ChoiceFilter(choices=Camera.Kind.choices)
    programme = django_filters.MultipleChoiceFilter(choices=Camera.Programme.choices, distinct=False)
    old_ward = django_filters.NumberFilter(field_name="old_ward_id")
    sponsor = django_filters.NumberFilter(field_name="sponsor_id")
    site = django_filters.NumberFilter(field_name="site_id")
    q = django_filters.CharFilter(method="filter_text", help_text="Text in code, name or address.")
    in_bbox = django_filters.CharFilter(
        method="filter_bbox", help_text="min_lon,min_lat,max_lon,max_lat: cameras inside the box."
    )
    near = django_filters.CharFilter(method="filter_near", help_text="lon,lat: with radius_m, cameras within the distance.")
    radius_m = django_filters.NumberFilter(method="filter_noop", help_text="Radius in metres for `near` (default 500).")

    class Meta:
        model = Camera
        fields = ["ward", "status", "kind", "programme", "old_ward", "sponsor", "site"]

    def filter_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()[:100]
        return queryset.filter(Q(code__icontains=value) | Q(name__icontains=value) | Q(address__icontains=value))

    def filter_bbox(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        x0, y0, x1, y1 = parse_floats(value, 4, "in_bbox", "min_lon,min_lat,max_lon,max_lat")
        if x0 >= x1 or y0 >= y1:
            raise ValidationError({"in_bbox": [_("The minimum must be below the maximum: min_lon,min_lat,max_lon,max_lat.")]})
        return queryset.filter(location__intersects=Polygon.from_bbox((x0, y0, x1, y1)))

    def filter_noop(self, queryset: QuerySet, name: str, value: float) -> QuerySet:
        return queryset

    def filter_near(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        lon, lat = parse_floats(value, 2, "near", "lon,lat")
        radius = self.data.get("radius_m") or 500
        try:
            radius = float(radius)
        except ValueError:
            radius = -1
        if not 0 < radius <= MAX_RADIUS_M:
            raise ValidationError({"radius_m": [_("Give a radius between 0 and %(max)d metres.") % {"max": MAX_RADIUS_M}]})
        centre = Point(lon, lat, srid=4326)
        # A box first, so the spatial index narrows the rows the exact distance is computed on.
        pad = radius / METRES_PER_DEGREE_LAT * 1.5 / max(0.2, abs(math.cos(math.radians(lat))))
        box = Polygon.from_bbox((lon - pad, lat - pad, lon + pad, lat + pad))
        return queryset.filter(location__intersects=box, location__distance_lte=(centre, D(m=radius)))


class SiteFilterSet(WardFilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains")

    class Meta:
        model = Site
        fields = ["ward"]


class SponsorFilterSet(WardFilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains")

    class Meta:
        model = Sponsor
        fields = ["ward"]


class FundingFilterSet(WardFilterSet):
    sponsor = django_filters.NumberFilter(field_name="sponsor_id")
    since = django_filters.DateFilter(field_name="date", lookup_expr="gte")
    until = django_filters.DateFilter(field_name="date", lookup_expr="lte")

    class Meta:
        model = Funding
        fields = ["ward", "sponsor"]


class CameraImportFilterSet(WardFilterSet):
    status = django_filters.ChoiceFilter(choices=CameraImport.Status.choices)

    class Meta:
        model = CameraImport
        fields = ["ward", "status"]
