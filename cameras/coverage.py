"""Coverage statistics: the share of a ward and of each old ward seen by its cameras.

Computed in the database in one statement per call: the union of the field-of-view sectors of the
ward's installed cameras (every status but "planned"), intersected with each boundary, measured in
UTM zone 48N (EPSG:32648, metres; the whole of southern Vietnam lies in it). The same SQL runs on
PostGIS and SpatiaLite, whose ST_ functions share names and meaning here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection

from cameras.models import Camera
from portal.models import Ward

METRIC_SRID = 32648


@dataclass(frozen=True)
class AreaCoverage:
    id: int
    name: str
    area_m2: float
    covered_m2: float

    @property
    def share(self) -> float:
        return self.covered_m2 / self.area_m2 if self.area_m2 else 0.0


@dataclass(frozen=True)
class WardCoverage:
    ward: AreaCoverage
    old_wards: list[AreaCoverage]


def _rows(sql: str, params: list[Any]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def ward_coverage(ward: Ward, *, statuses: list[str] | None = None) -> WardCoverage:
    """Covered share of ``ward`` and its old wards by cameras with the given statuses."""
    if statuses is None:
        statuses = [s for s in Camera.Status.values if s != Camera.Status.PLANNED]
    placeholders = ",".join(["%s"] * len(statuses))
    cam = Camera._meta.db_table
    # One area per boundary: the ward itself first (kind 0), then its old wards (kind 1).
    # Only table names and the fixed SRID are formatted in; every value is a parameter.
    sql = f"""
        WITH seen AS (
            SELECT ST_Union(fov) AS g FROM {cam} WHERE ward_id = %s AND status IN ({placeholders})
        ), areas AS (
            SELECT 0 AS kind, id, name, boundary FROM portal_ward WHERE id = %s
            UNION ALL
            SELECT 1 AS kind, id, name, boundary FROM portal_oldward WHERE ward_id = %s
        )
        SELECT areas.kind, areas.id, areas.name,
               ST_Area(ST_Transform(areas.boundary, {METRIC_SRID})),
               COALESCE(ST_Area(ST_Transform(ST_Intersection(areas.boundary, seen.g), {METRIC_SRID})), 0)
        FROM areas, seen
        ORDER BY areas.kind, areas.name
    """  # noqa: S608
    rows = _rows(sql, [ward.pk, *statuses, ward.pk, ward.pk])
    items = [(kind, AreaCoverage(id=i, name=n, area_m2=float(a or 0), covered_m2=float(c or 0))) for kind, i, n, a, c in rows]
    ward_row = next(a for kind, a in items if kind == 0)
    return WardCoverage(ward=ward_row, old_wards=[a for kind, a in items if kind == 1])
