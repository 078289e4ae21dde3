"""Coverage statistics: the share of a ward and of each old ward seen by its cameras.

Computed in the database in one statement per call: the union of the field-of-view sectors of the
ward's installed cameras (every status but "planned"), intersected with each boundary, measured in
UTM zone 48N (EPSG:32648, metres; the whole of southern Vietnam lies in it). The same SQL runs on
PostGIS and SpatiaLite, whose ST_ functions share names and meaning here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Max

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


CACHE_SECONDS = 24 * 3600


def _cache_key(ward: Ward, statuses: list[str]) -> str:
    """Changes whenever the ward's cameras or boundaries may have changed.

    Camera saves move ``updated_at`` and ids, deletes move the count; boundary edits and deletes
    through the services bump the ward's generation (``portal.services.ward_data_changed``).
    """
    stamp = Camera.objects.filter(ward=ward).aggregate(n=Count("id"), last=Max("updated_at"), top=Max("id"))
    generation = cache.get(f"ward-data-gen:{ward.pk}", 0)
    last = stamp["last"].timestamp() if stamp["last"] else 0
    return f"coverage:{ward.pk}:{','.join(sorted(statuses))}:{stamp['n']}:{stamp['top']}:{last}:{generation}"


def ward_coverage(ward: Ward, *, statuses: list[str] | None = None) -> WardCoverage:
    """Covered share of ``ward`` and its old wards by cameras with the given statuses.

    The union of hundreds of sectors costs ~100 ms on PostGIS, so results are cached until the
    ward's cameras or boundaries change (Redis when configured, so every web process shares it).
    """
    if statuses is None:
        statuses = [s for s in Camera.Status.values if s != Camera.Status.PLANNED]
    key = _cache_key(ward, statuses)
    cached = cache.get(key)
    if cached is not None:
        return cached
    result = _compute_coverage(ward, statuses)
    cache.set(key, result, CACHE_SECONDS)
    return result


def _compute_coverage(ward: Ward, statuses: list[str]) -> WardCoverage:
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
