"""GeoJSON geometry input that GDAL cannot be tricked with.

GDAL before 3.9 may open files or URLs named in a spatial reference, so a ``crs`` member (or any
member but ``type`` and ``coordinates``) is refused and geometries are always WGS 84.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.gis.gdal import GDALException
from django.contrib.gis.geos import GEOSException, GEOSGeometry
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework_gis.fields import GeometryField

GEOMETRY_TYPES = {"Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon"}


def parse_geojson_geometry(value: Any) -> GEOSGeometry:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise serializers.ValidationError(_("Not valid JSON: %(msg)s.") % {"msg": exc.msg}) from exc
    if not isinstance(value, dict) or value.get("type") not in GEOMETRY_TYPES:
        raise serializers.ValidationError(_('Give a GeoJSON geometry, e.g. {"type": "Point", "coordinates": [106.78, 10.84]}.'))
    extra = sorted(set(value) - {"type", "coordinates"})
    if extra:
        raise serializers.ValidationError(
            _("Only “type” and “coordinates” are accepted in a geometry (remove %(keys)s); coordinates are WGS 84.")
            % {"keys": ", ".join(extra)}
        )
    invalid = _("The coordinates do not form a valid %(type)s.") % {"type": value["type"]}
    try:
        # allow_nan=False: NaN or Infinity (Python's json reads them) is refused here, not by GDAL.
        geometry = GEOSGeometry(
            json.dumps({"type": value["type"], "coordinates": value.get("coordinates")}, allow_nan=False), srid=4326
        )
    except (GEOSException, GDALException, ValueError, TypeError) as exc:
        raise serializers.ValidationError(invalid) from exc
    if geometry.empty:
        raise serializers.ValidationError(_("The %(type)s has no coordinates.") % {"type": value["type"]})
    if geometry.hasz:
        raise serializers.ValidationError(
            _("Give two numbers per position, [longitude, latitude]: heights are not stored (%(type)s).")
            % {"type": value["type"]}
        )
    geometry.srid = 4326
    return geometry


class SafeGeometryField(GeometryField):
    def __init__(self, *args: Any, geom_type: str | None = None, **kwargs: Any) -> None:
        self.geom_type = geom_type
        super().__init__(*args, **kwargs)

    def to_internal_value(self, value: Any) -> GEOSGeometry | None:
        if value in ("", None):
            return None
        geometry = parse_geojson_geometry(value)
        if self.geom_type and geometry.geom_type not in self.geom_type.split("|"):
            raise serializers.ValidationError(
                _("Expected a geometry of type %(want)s, got a %(got)s.")
                % {"want": " / ".join(self.geom_type.split("|")), "got": geometry.geom_type}
            )
        return geometry

    def to_representation(self, value: Any) -> dict[str, Any] | None:
        # GEOS coordinates straight to GeoJSON: ~10× faster than going through GDAL's GeoJSON writer,
        # which matters on map layers of thousands of features.
        if value is None or value.empty:
            return None
        if value.geom_type not in GEOMETRY_TYPES:
            return super().to_representation(value)
        return {"type": value.geom_type, "coordinates": value.coords}


@extend_schema_field(OpenApiTypes.STR)
class ChoiceLabelField(serializers.Field):
    """The translated label of a choice field's value, looked up once per language."""

    def __init__(self, choices: Any, **kwargs: Any) -> None:
        self.choices = choices
        self._labels: dict[str, dict[Any, str]] = {}
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str:
        language = get_language() or ""
        labels = self._labels.get(language)
        if labels is None:
            labels = self._labels[language] = {key: str(label) for key, label in self.choices}
        return labels.get(value, str(value))
