"""From the map to a covering problem: the demand grid over a ward and the cells each candidate sector sees.

Plain Python and numpy, no Django (the planning job reads the rows and calls :func:`build_problem`).

- Positions are WGS 84 lon/lat; everything is computed in metres on the plane tangent to the ellipsoid
  at the area's centre (an equirectangular projection with the local radii of curvature, as
  ``cameras.geometry`` uses for sectors): over a ward of a few kilometres it is within centimetres.
- The grid: square cells of ``cell_size`` metres (25 by default) over the area's bounding box; a cell
  belongs to the area when its centre is inside the polygon (holes allowed).
- A sector (position, heading in degrees clockwise from north, angle in degrees, 360 = all round, range
  in metres) covers the cells whose centres are within range and within half the angle of the heading.
- Demand per cell: ``base_weight``, plus the weights of points (cases, alerts) falling in it, then
  priority areas (``weight * multiplier + add`` for cells whose centres are inside), then zero where
  existing cameras already see: those cells add no gain.
- A site with ``try_8_headings`` becomes eight variants (its heading, then every 45°), mutually
  exclusive in the problem (one group per site).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .optimizer import Problem, make_problem

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

WGS84_A = 6_378_137.0
WGS84_F = 1 / 298.257223563
WGS84_E2 = WGS84_F * (2 - WGS84_F)
DEFAULT_CELL_M = 25.0
HEADINGS_TRIED = 8
# Work arrays of at most this many (sector, cell) pairs at once.
_CHUNK_PAIRS = 2_000_000


@dataclass(frozen=True)
class Projection:
    """lon/lat to metres east/north of (lon0, lat0) on the tangent plane."""

    lon0: float
    lat0: float

    @property
    def scale(self) -> tuple[float, float]:
        phi = math.radians(self.lat0)
        w = 1 - WGS84_E2 * math.sin(phi) ** 2
        meridional = WGS84_A * (1 - WGS84_E2) / w**1.5
        parallel = WGS84_A / math.sqrt(w) * math.cos(phi)
        return math.radians(1) * parallel, math.radians(1) * meridional  # metres per degree lon, lat

    def to_xy(self, lon: Any, lat: Any) -> tuple[FloatArray, FloatArray]:
        kx, ky = self.scale
        return (np.asarray(lon, dtype=np.float64) - self.lon0) * kx, (np.asarray(lat, dtype=np.float64) - self.lat0) * ky

    def to_lonlat(self, x: Any, y: Any) -> tuple[FloatArray, FloatArray]:
        kx, ky = self.scale
        return np.asarray(x, dtype=np.float64) / kx + self.lon0, np.asarray(y, dtype=np.float64) / ky + self.lat0


def _rings(polygon: Any, name: str) -> list[FloatArray]:
    """Rings (exterior, then holes) of lon/lat pairs from a ring, a list of rings or a GeoJSON Polygon."""
    if isinstance(polygon, Mapping):
        if polygon.get("type") != "Polygon" or "coordinates" not in polygon:
            raise ValueError(f"{name}: give a GeoJSON Polygon (type 'Polygon' with coordinates)")
        polygon = polygon["coordinates"]
    try:
        first = polygon[0]
        single = isinstance(first[0], int | float | np.integer | np.floating)
        raw = [polygon] if single else list(polygon)
        rings = [np.asarray(r, dtype=np.float64) for r in raw]
    except (TypeError, ValueError, IndexError, KeyError):
        raise ValueError(f"{name}: give a polygon as a list of [lon, lat] pairs (or of such rings)")
    for k, ring in enumerate(rings):
        if ring.ndim != 2 or ring.shape[1] != 2:
            raise ValueError(f"{name}: ring {k} must be a list of [lon, lat] pairs")
        if not np.isfinite(ring).all():
            raise ValueError(f"{name}: ring {k} has a coordinate that is not a finite number")
        if (np.abs(ring[:, 0]) > 180).any() or (np.abs(ring[:, 1]) > 90).any():
            raise ValueError(f"{name}: ring {k} is not lon/lat (longitude within ±180, latitude within ±90; lon first)")
        if len(np.unique(ring, axis=0)) < 3:
            raise ValueError(f"{name}: ring {k} needs at least 3 distinct corners")
    return rings


def _edges(rings_xy: list[FloatArray]) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    parts = [(r, np.roll(r, -1, axis=0)) for r in rings_xy]
    a = np.concatenate([p[0] for p in parts])
    b = np.concatenate([p[1] for p in parts])
    keep = a[:, 1] != b[:, 1]  # horizontal edges never cross a scan line
    return a[keep, 0], a[keep, 1], b[keep, 0], b[keep, 1]


def points_inside(rings_xy: list[FloatArray], px: FloatArray, py: FloatArray) -> npt.NDArray[np.bool_]:
    """Even-odd rule (holes count as outside), for a modest number of points."""
    x1, y1, x2, y2 = _edges(rings_xy)
    px, py = np.atleast_1d(px), np.atleast_1d(py)
    inside = np.zeros(len(px), dtype=bool)
    step = max(1, _CHUNK_PAIRS // max(1, len(x1)))
    for s in range(0, len(px), step):
        qx, qy = px[s : s + step, None], py[s : s + step, None]
        crosses = (y1 > qy) != (y2 > qy)
        with np.errstate(divide="ignore", invalid="ignore"):
            xs = x1 + (qy - y1) * (x2 - x1) / (y2 - y1)
        inside[s : s + step] = ((crosses & (qx < xs)).sum(axis=1) % 2) == 1
    return inside


def _raster_inside(rings_xy: list[FloatArray], xc: FloatArray, yc: FloatArray) -> npt.NDArray[np.bool_]:
    """Which centres of the raster (rows ``yc``, columns ``xc``, both ascending) lie inside; scan lines."""
    x1, y1, x2, y2 = _edges(rings_xy)
    ys = yc[:, None]
    crosses = (y1 > ys) != (y2 > ys)
    with np.errstate(divide="ignore", invalid="ignore"):
        xs = np.where(crosses, x1 + (ys - y1) * (x2 - x1) / (y2 - y1), np.inf)
    xs.sort(axis=1)
    out = np.zeros((len(yc), len(xc)), dtype=bool)
    for j in range(len(yc)):
        row = xs[j]
        row = row[: int(np.searchsorted(row, np.inf))]
        if len(row):
            out[j] = (np.searchsorted(row, xc, side="right") % 2) == 1
    return out


@dataclass(frozen=True, eq=False)
class Grid:
    """Cells of the area: raster ``nx`` × ``ny`` from (x0, y0) (metres), ``cell_of`` maps raster → cell or -1."""

    projection: Projection
    cell_size: float
    x0: float
    y0: float
    nx: int
    ny: int
    cell_of: IntArray  # shape (ny, nx)
    x: FloatArray  # cell centres, metres
    y: FloatArray
    rings_xy: tuple[FloatArray, ...]

    @property
    def n_cells(self) -> int:
        return len(self.x)

    def cells_at(self, x: Any, y: Any) -> IntArray:
        """The cell holding each point (metres), -1 outside the area."""
        i = np.floor((np.asarray(x, dtype=np.float64) - self.x0) / self.cell_size).astype(np.int64)
        j = np.floor((np.asarray(y, dtype=np.float64) - self.y0) / self.cell_size).astype(np.int64)
        ok = (i >= 0) & (i < self.nx) & (j >= 0) & (j < self.ny)
        out = np.full(i.shape, -1, dtype=np.int64)
        out[ok] = self.cell_of[j[ok], i[ok]]
        return out

    def centres_lonlat(self) -> tuple[FloatArray, FloatArray]:
        return self.projection.to_lonlat(self.x, self.y)

    def inside(self, polygon: Any, name: str = "polygon") -> npt.NDArray[np.bool_]:
        """Per cell: is its centre inside ``polygon`` (lon/lat)?"""
        rings = [np.stack(self.projection.to_xy(r[:, 0], r[:, 1]), axis=1) for r in _rings(polygon, name)]
        xc = self.x0 + (np.arange(self.nx, dtype=np.float64) + 0.5) * self.cell_size
        yc = self.y0 + (np.arange(self.ny, dtype=np.float64) + 0.5) * self.cell_size
        raster = _raster_inside(rings, xc.astype(np.float64), yc.astype(np.float64))
        live = self.cell_of.reshape(-1) >= 0
        out = np.zeros(self.n_cells, dtype=bool)
        out[self.cell_of.reshape(-1)[live]] = raster.reshape(-1)[live]
        return out


def make_grid(area: Any, cell_size: float = DEFAULT_CELL_M) -> Grid:
    """The grid over ``area`` (a lon/lat polygon): cells whose centres are inside it."""
    cell_size = _number(cell_size, "cell_size")
    if cell_size <= 0:
        raise ValueError(f"cell_size must be more than 0 metres (got {cell_size:g})")
    rings = _rings(area, "area")
    allpts = np.concatenate(rings)
    lo, hi = allpts.min(axis=0), allpts.max(axis=0)
    proj = Projection(lon0=float((lo[0] + hi[0]) / 2), lat0=float((lo[1] + hi[1]) / 2))
    rings_xy = [np.stack(proj.to_xy(r[:, 0], r[:, 1]), axis=1) for r in rings]
    xy = np.concatenate(rings_xy)
    x0, y0 = float(xy[:, 0].min()), float(xy[:, 1].min())
    nx = max(1, math.ceil((xy[:, 0].max() - x0) / cell_size))
    ny = max(1, math.ceil((xy[:, 1].max() - y0) / cell_size))
    if nx * ny > 20_000_000:
        raise ValueError(f"area and cell_size give {nx * ny:,} cells: use larger cells or a smaller area")
    xc = x0 + (np.arange(nx) + 0.5) * cell_size
    yc = y0 + (np.arange(ny) + 0.5) * cell_size
    inside = _raster_inside(rings_xy, xc, yc)
    if not inside.any():
        raise ValueError(f"area: no cell centre of {cell_size:g} m falls inside the polygon; use smaller cells")
    cell_of = np.full((ny, nx), -1, dtype=np.int64)
    jj, ii = np.nonzero(inside)
    cell_of[jj, ii] = np.arange(len(jj))
    return Grid(
        projection=proj,
        cell_size=float(cell_size),
        x0=x0,
        y0=y0,
        nx=nx,
        ny=ny,
        cell_of=cell_of,
        x=xc[ii],
        y=yc[jj],
        rings_xy=tuple(rings_xy),
    )


def _number(value: Any, what: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: give a number")
    if not math.isfinite(v):
        raise ValueError(f"{what} is not a finite number")
    return v


@dataclass(frozen=True)
class Sector:
    """A field of view: heading clockwise from north, angle (360 = all round), range in metres."""

    lon: float
    lat: float
    heading: float
    angle: float
    range_m: float

    def check(self, name: str = "sector") -> None:
        for field_name in ("lon", "lat", "heading", "angle", "range_m"):
            _number(getattr(self, field_name), f"{name}.{field_name}")
        if not (-180 <= self.lon <= 180 and -90 <= self.lat <= 90):
            raise ValueError(f"{name}: position ({self.lon}, {self.lat}) is not lon/lat")
        if self.angle <= 0 or self.range_m <= 0:
            raise ValueError(
                f"{name}: zero-width sector (angle {self.angle:g}°, range {self.range_m:g} m): give an angle above 0 (up to 360) and a range above 0"
            )
        if self.angle > 360:
            raise ValueError(f"{name}: angle {self.angle:g}° is more than 360: give 360 for all round")


def sectors_cover(grid: Grid, sectors: Sequence[Sector], *, names: str = "sectors") -> tuple[IntArray, IntArray]:
    """Cells each sector covers, as compressed rows ``(indptr, indices)`` (one row per sector, cells sorted)."""
    n = len(sectors)
    for k, s in enumerate(sectors):
        s.check(f"{names}[{k}]")
    if n == 0:
        return np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    arr = np.array([(s.lon, s.lat, s.heading, s.angle, s.range_m) for s in sectors], dtype=np.float64)
    sx, sy = grid.projection.to_xy(arr[:, 0], arr[:, 1])
    heading, half, rng = arr[:, 2] % 360.0, arr[:, 3] / 2.0, arr[:, 4]
    cs = grid.cell_size
    reach = np.ceil(rng / cs).astype(np.int64) + 1  # window half-width in cells
    order = np.argsort(reach, kind="stable")
    ci = np.floor((sx - grid.x0) / cs).astype(np.int64)
    cj = np.floor((sy - grid.y0) / cs).astype(np.int64)
    flat_cells = grid.cell_of.reshape(-1)
    out_s: list[IntArray] = []
    out_c: list[IntArray] = []
    pos = 0
    while pos < n:
        r = int(reach[order[pos]])
        side = 2 * r + 1
        per = side * side
        take = max(1, _CHUNK_PAIRS // per)
        batch = order[pos : pos + take]
        batch = batch[reach[batch] <= r] if len(batch) > 1 else batch
        # The window's reach is that of the batch's largest sector.
        r = int(reach[batch].max())
        side = 2 * r + 1
        off = np.arange(-r, r + 1)
        di = np.tile(off, side)
        dj = np.repeat(off, side)
        ii = ci[batch, None] + di[None, :]
        jj = cj[batch, None] + dj[None, :]
        ok = (ii >= 0) & (ii < grid.nx) & (jj >= 0) & (jj < grid.ny)
        cell = np.full(ii.shape, -1, dtype=np.int64)
        cell[ok] = flat_cells[jj[ok] * grid.nx + ii[ok]]
        dx = grid.x0 + (ii + 0.5) * cs - sx[batch, None]
        dy = grid.y0 + (jj + 0.5) * cs - sy[batch, None]
        d2 = dx * dx + dy * dy
        hit = (cell >= 0) & (d2 <= (rng[batch, None] ** 2) * (1 + 1e-12))
        bearing = np.degrees(np.arctan2(dx, dy))
        diff = np.abs((bearing - heading[batch, None] + 180.0) % 360.0 - 180.0)
        hit &= (diff <= half[batch, None] + 1e-9) | (half[batch, None] >= 180.0) | (d2 == 0)
        rows, cols = np.nonzero(hit)
        out_s.append(batch[rows])
        out_c.append(cell[rows, cols])
        pos += len(batch)
    s_all = np.concatenate(out_s)
    c_all = np.concatenate(out_c)
    o = np.lexsort((c_all, s_all))
    s_all, c_all = s_all[o], c_all[o]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(s_all, minlength=n), out=indptr[1:])
    return indptr, c_all


@dataclass(frozen=True)
class Site:
    """A candidate site: position, cost in VND, proposed sector; ``try_8_headings`` tries 8 headings."""

    lon: float
    lat: float
    cost: int
    heading: float = 0.0
    angle: float = 90.0
    range_m: float = 100.0
    try_8_headings: bool = False


@dataclass(frozen=True)
class Variant:
    """One column of the problem: site ``site`` (index in the input) looking along ``heading``."""

    site: int
    heading: float


@dataclass(frozen=True)
class PriorityArea:
    """Cells whose centres are inside ``polygon`` get ``weight * multiplier + add``."""

    polygon: Any
    multiplier: float = 1.0
    add: float = 0.0


def demand(
    grid: Grid,
    *,
    base_weight: float = 1.0,
    points: Any = (),
    priority_areas: Iterable[PriorityArea] = (),
    existing: Sequence[Sector] = (),
) -> FloatArray:
    """Demand per cell (see the module's docstring). ``points``: rows of (lon, lat, weight); points
    outside the area are left out (a case just across the ward line adds nothing here)."""
    base = _number(base_weight, "base_weight")
    if base < 0:
        raise ValueError("base_weight is negative: give 0 or more")
    w = np.full(grid.n_cells, base)
    pts = np.asarray(points, dtype=np.float64) if len(points) else np.zeros((0, 3))
    if pts.ndim != 2 or pts.shape[1] != 3:
        raise ValueError("points: give rows of (lon, lat, weight)")
    if len(pts):
        bad = ~np.isfinite(pts).all(axis=1)
        if bad.any():
            raise ValueError(f"points[{int(np.argmax(bad))}] has a value that is not a finite number")
        neg = pts[:, 2] < 0
        if neg.any():
            raise ValueError(f"points[{int(np.argmax(neg))}]: weight is negative; give 0 or more")
        px, py = grid.projection.to_xy(pts[:, 0], pts[:, 1])
        cell = grid.cells_at(px, py)
        ok = cell >= 0
        np.add.at(w, cell[ok], pts[ok, 2])
    for k, area in enumerate(priority_areas):
        mult = _number(area.multiplier, f"priority_areas[{k}].multiplier")
        add = _number(area.add, f"priority_areas[{k}].add")
        if mult < 0 or add < 0:
            raise ValueError(f"priority_areas[{k}]: multiplier and add must be 0 or more")
        mask = grid.inside(area.polygon, f"priority_areas[{k}].polygon")
        w[mask] = w[mask] * mult + add
    if len(existing):
        _, seen = sectors_cover(grid, existing, names="existing")
        w[seen] = 0.0
    return w


def expand_sites(sites: Sequence[Site]) -> tuple[list[Sector], list[Variant], IntArray, IntArray]:
    """Sectors, variants, costs and groups (one group per site that tries 8 headings, else -1)."""
    sectors: list[Sector] = []
    variants: list[Variant] = []
    costs: list[int] = []
    groups: list[int] = []
    for k, site in enumerate(sites):
        cost = _number(site.cost, f"sites[{k}].cost")
        if cost < 0 or cost != round(cost):
            raise ValueError(f"sites[{k}].cost must be a whole number of VND, 0 or more (got {site.cost!r})")
        base = Sector(site.lon, site.lat, site.heading, site.angle, site.range_m)
        base.check(f"sites[{k}]")
        headings = (
            [(site.heading + 360.0 * h / HEADINGS_TRIED) % 360.0 for h in range(HEADINGS_TRIED)]
            if site.try_8_headings
            else [site.heading % 360.0]
        )
        for h in headings:
            sectors.append(Sector(site.lon, site.lat, h, site.angle, site.range_m))
            variants.append(Variant(site=k, heading=h))
            costs.append(int(cost))
            groups.append(k if site.try_8_headings else -1)
    return sectors, variants, np.asarray(costs, dtype=np.int64), np.asarray(groups, dtype=np.int64)


@dataclass(frozen=True, eq=False)
class Built:
    problem: Problem
    grid: Grid
    variants: list[Variant]


def build_problem(
    area: Any,
    sites: Sequence[Site],
    *,
    cell_size: float = DEFAULT_CELL_M,
    base_weight: float = 1.0,
    points: Any = (),
    priority_areas: Iterable[PriorityArea] = (),
    existing: Sequence[Sector] = (),
    backup_share: float = 0.0,
    backup_factor: float = 0.5,
) -> Built:
    """The covering problem for candidate ``sites`` over ``area``.

    Every site must stand inside the area. With ``backup_share`` > 0, the hottest cells (that share of
    the cells with demand, by weight) also count ``backup_factor`` × their weight when a second chosen
    camera covers them.
    """
    grid = make_grid(area, cell_size)
    sectors, variants, costs, groups = expand_sites(sites)
    if sites:
        lon = np.array([s.lon for s in sites], dtype=np.float64)
        lat = np.array([s.lat for s in sites], dtype=np.float64)
        px, py = grid.projection.to_xy(lon, lat)
        outside = ~points_inside(list(grid.rings_xy), px, py)
        if outside.any():
            k = int(np.argmax(outside))
            raise ValueError(
                f"sites[{k}] at ({sites[k].lon}, {sites[k].lat}) is outside the area: move it inside or leave it out"
            )
    weights = demand(grid, base_weight=base_weight, points=points, priority_areas=priority_areas, existing=existing)
    share = _number(backup_share, "backup_share")
    factor = _number(backup_factor, "backup_factor")
    if not (0 <= share <= 1 and 0 <= factor <= 1):
        raise ValueError("backup_share and backup_factor must be between 0 and 1")
    backup = None
    if share > 0 and factor > 0 and (weights > 0).any():
        cut = float(np.quantile(weights[weights > 0], 1 - share))
        backup = np.where((weights >= cut) & (weights > 0), weights * factor, 0.0)
    covers = sectors_cover(grid, sectors, names="sites")
    problem = make_problem(weights, costs, covers, groups=groups, backup=backup)
    return Built(problem=problem, grid=grid, variants=variants)
