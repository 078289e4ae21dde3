"""Portal at city scale: latency of the map layer, camera list, dashboard and coverage on PostGIS.

A benchmark, not a test. Run it from the repository root:

    DATABASE_URL=postgis://postgres@127.0.0.1:5432/matthan_bench .venv/bin/python bench/portal_scale.py

Options:
    --refill              drop and re-create the database, then fill it again
    --requests N          timed requests per endpoint (default 50); --extra-requests N for the extras (15)
    --warmup N            untimed rounds over every endpoint first (default: one per sampled ward)
    --wards N             wards to rotate over, each with its own official (default 10)
    --profile             also print a cProfile (by own time) of each endpoint over the target

What it does:

1. Creates the database named in ``DATABASE_URL`` when it is missing (the name must contain
   "bench", so the portal's own and the test databases are never touched; PostGIS comes from
   template1), runs ``migrate`` and, unless the data is already there, fills it (about 1–2 minutes
   on 2 cores): 100 wards of ~4.3 km² (2.4 km × 1.8 km, wobbly boundaries) on a grid east of Ho Chi
   Minh City, each cut into 4 old wards that tile it; 500 cameras per ward, 50,000 in all (40 AI
   cameras looking four ways from 10 poles, 460 legacy cameras spread over the old wards, statuses
   and programmes mixed like the demo data, a few 360° domes); field-of-view sectors from
   ``cameras.geometry.sector_polygon``; one official per ward. Rows go in with ``bulk_create``;
   nothing is written to the audit log per camera. Then VACUUM ANALYZE.
2. Measures in-process through DRF's ``APIClient`` (a Django test ``Client``) logged in with
   ``force_login``, so each request loads its session and user as a browser's would (with
   ``force_authenticate`` the same user object, and its cached ward ids, would serve every request).
   Requests rotate over 10 wards, each with its own official and that ward chosen in the session;
   all endpoints are interleaved so that load from other processes hits them alike; every response
   must be 200.

   (a)  map layer of a 1.5 km × 1 km viewport inside the ward:
        /api/cameras/?format=geojson&ward=<slug>&in_bbox=<viewport>&page_size=5000
   (b1) camera list with filters and text: /api/cameras/?ward=<slug>&status=online&programme=old_ward&q=Man Thiện
   (b2) the same without q
   (c)  the dashboard / (counts, and coverage for installed and for online cameras)
   (d)  /api/wards/<id>/coverage/
   (x1, x2, "extra") the two layers the map page loads: the whole ward's points and sectors.

   The warm-up hits every endpoint for every sampled ward first: the steady state of a server that
   has served the map page once (which matters: see the layer serializers in the report).

What it prints:
- "data present …" or the fill progress; PostgreSQL, PostGIS, GEOS and Django versions; the load
  average before and after (the figures are wall-clock: other processes on the machine inflate them);
- a table, one line per endpoint: n requests, p50 / p95 / max wall ms, p50 CPU ms of this Python
  process, mean rows (features, list results or coverage areas), mean KiB, and "ok" or "MISS"
  against the 200 ms p95 target;
- one more request per endpoint with its queries captured: number of queries, ms in SQL and
  outside (Python), the slowest query, and the most repeated query when it repeats > 10 times (N+1);
- for each endpoint that misses: the N+1 if any, the slowest query and its EXPLAIN (ANALYZE,
  BUFFERS) (and with --profile a cProfile);
"""

from __future__ import annotations

import argparse
import cProfile
import io
import math
import os
import pstats
import random
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchlib import ensure_bench_database, percentile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

TARGET_MS = 200.0
WARDS = 100
OLD_WARDS_PER_WARD = 4
CAMERAS_PER_WARD = 500
AI_SITES_PER_WARD = 10
SLUG_PREFIX = "bp-"

# Ward grid: 10 × 10 wards east of Ho Chi Minh City, ~2.4 km × 1.8 km each, 300 m/200 m apart.
GRID_COLS = 10
ORIGIN = (106.55, 10.70)
WARD_W, WARD_H = 0.022, 0.016
STEP_X, STEP_Y = 0.025, 0.018
# Viewport of about 1.5 km × 1 km at latitude ~10.8°.
VIEW_W, VIEW_H = 0.0137, 0.0090

WARD_NAMES = [
    "Tân Phú",
    "Hiệp Phú",
    "Linh Trung",
    "Linh Xuân",
    "Bình Thọ",
    "Trường Thọ",
    "Phước Bình",
    "Long Thạnh Mỹ",
    "Tăng Nhơn Phú",
    "Hiệp Bình",
    "An Khánh",
    "Thạnh Mỹ Lợi",
    "Cát Lái",
    "Bình Trưng",
    "Long Trường",
    "Phú Hữu",
    "Tam Bình",
    "Tam Phú",
    "Linh Đông",
    "Linh Chiểu",
]
OLD_SUFFIXES = ["A", "B", "C", "D"]
STREETS = [
    "Lê Văn Việt",
    "Man Thiện",
    "Lã Xuân Oai",
    "Đình Phong Phú",
    "Đỗ Xuân Hợp",
    "Lò Lu",
    "Nguyễn Xiển",
    "Tân Lập 2",
    "Làng Tăng Phú",
    "Dương Đình Hội",
    "Hồ Bá Phấn",
    "Võ Văn Ngân",
    "Kha Vạn Cân",
    "Phạm Văn Đồng",
    "Hoàng Diệu 2",
    "Đặng Văn Bi",
    "Tô Ngọc Vân",
    "Quốc lộ 13",
    "Nguyễn Duy Trinh",
    "Đồng Văn Cống",
    "Mai Chí Thọ",
    "Nguyễn Thị Định",
    "Trần Não",
    "Lương Định Của",
    "Song Hành",
    "Xa lộ Hà Nội",
    "Tây Hòa",
    "Ích Thạnh",
    "Bưng Ông Thoàn",
    "Gò Cát",
]
TEXT_QUERY = "Man Thiện"
LEGACY_STATUS = [("online", 55), ("offline", 14), ("to_restore", 20), ("maintenance", 6), ("planned", 5)]
LEGACY_PROGRAMME = [("old_ward", 60), ("city", 25), ("other", 15)]


# --- Database -------------------------------------------------------------------------------------


def ensure_database(refill: bool) -> str:
    return ensure_bench_database(os.environ.get("DATABASE_URL", ""), refill=refill)


def data_present() -> bool:
    from cameras.models import Camera
    from portal.models import Membership, Ward

    return (
        Ward.objects.filter(slug__startswith=SLUG_PREFIX).count() == WARDS
        and Camera.objects.filter(ward__slug__startswith=SLUG_PREFIX).count() == WARDS * CAMERAS_PER_WARD
        and Membership.objects.filter(ward__slug__startswith=SLUG_PREFIX, role="official").count() == WARDS
    )


# --- Geometry of the fake city --------------------------------------------------------------------


def ward_nodes(rng: random.Random, index: int) -> dict[tuple[int, int], tuple[float, float]]:
    """3 × 3 grid nodes (row from the south, column from the west) of ward ``index``, jittered."""
    west = ORIGIN[0] + (index % GRID_COLS) * STEP_X
    south = ORIGIN[1] + (index // GRID_COLS) * STEP_Y
    nodes = {}
    for r in range(3):
        for c in range(3):
            jx = rng.uniform(-0.0008, 0.0008)
            jy = rng.uniform(-0.0006, 0.0006)
            nodes[(r, c)] = (west + c * WARD_W / 2 + jx, south + r * WARD_H / 2 + jy)
    return nodes


def edge(
    nodes: dict[tuple[int, int], tuple[float, float]], a: tuple[int, int], b: tuple[int, int], seed: int
) -> list[tuple[float, float]]:
    """Wobbly polyline from node ``a`` to ``b``, without ``b``; the same points whichever way it runs."""
    first, last = (a, b) if a < b else (b, a)
    rng = random.Random(f"{seed}:{first}:{last}")
    (x0, y0), (x1, y1) = nodes[first], nodes[last]
    length = math.hypot(x1 - x0, y1 - y0)
    nx, ny = -(y1 - y0) / length, (x1 - x0) / length
    phase, waves = rng.uniform(0, math.tau), rng.choice([2, 3, 4])
    steps = 16
    points = []
    for k in range(steps + 1):
        t = k / steps
        wobble = 0.00022 * math.sin(math.pi * t) * math.sin(waves * math.pi * t + phase) if 0 < k < steps else 0.0
        points.append((x0 + t * (x1 - x0) + nx * wobble, y0 + t * (y1 - y0) + ny * wobble))
    if (a, b) != (first, last):
        points.reverse()
    return points[:-1]


def ward_geometry(index: int) -> tuple[Any, list[Any]]:
    """(ward MultiPolygon, [4 old-ward Polygons]) that tile it exactly."""
    from django.contrib.gis.geos import MultiPolygon, Polygon

    rng = random.Random(f"ward-{index}")
    nodes = ward_nodes(rng, index)
    cells = []
    for r in range(2):
        for c in range(2):
            corners = [(r, c), (r, c + 1), (r + 1, c + 1), (r + 1, c)]
            ring: list[tuple[float, float]] = []
            for i, corner in enumerate(corners):
                ring += edge(nodes, corner, corners[(i + 1) % 4], index)
            ring.append(ring[0])
            polygon = Polygon(ring, srid=4326)
            assert polygon.valid, polygon.valid_reason
            cells.append(polygon)
    union = MultiPolygon(cells, srid=4326).unary_union
    boundary = union if isinstance(union, MultiPolygon) else MultiPolygon(union, srid=4326)
    boundary.srid = 4326
    assert boundary.valid, boundary.valid_reason
    return boundary, cells


def viewport(boundary: Any) -> tuple[float, float, float, float]:
    """A 1.5 km × 1 km box around the middle of the ward (inside it)."""
    x0, y0, x1, y1 = boundary.extent
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return (cx - VIEW_W / 2, cy - VIEW_H / 2, cx + VIEW_W / 2, cy + VIEW_H / 2)


def weighted(rng: random.Random, table: list[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


def random_point(rng: random.Random, prepared: Any, extent: tuple[float, float, float, float]) -> Any:
    from django.contrib.gis.geos import Point

    x0, y0, x1, y1 = extent
    while True:
        point = Point(rng.uniform(x0, x1), rng.uniform(y0, y1), srid=4326)
        if prepared.contains(point):
            return point


# --- Fill -----------------------------------------------------------------------------------------


def fill() -> None:
    import datetime as dt

    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.gis.geos import MultiPolygon, Point
    from django.db import connection, transaction

    from cameras.geometry import sector_polygon
    from cameras.models import Camera
    from portal.models import Membership, OldWard, Role, Ward

    started = time.perf_counter()
    user_model = get_user_model()
    with transaction.atomic():
        # A partial earlier fill: remove its rows (in dependency order) before filling again.
        Camera.objects.filter(ward__slug__startswith=SLUG_PREFIX).delete()
        Membership.objects.filter(ward__slug__startswith=SLUG_PREFIX).delete()
        OldWard.objects.filter(ward__slug__startswith=SLUG_PREFIX).delete()
        user_model.objects.filter(username__startswith=f"official.{SLUG_PREFIX}").delete()
        Ward.objects.filter(slug__startswith=SLUG_PREFIX).delete()

        geometries = [ward_geometry(i) for i in range(WARDS)]
        wards = Ward.objects.bulk_create(
            Ward(
                name=f"Phường {WARD_NAMES[i % len(WARD_NAMES)]} {i // len(WARD_NAMES) + 1}",
                slug=f"{SLUG_PREFIX}{i:03d}",
                code=f"B{i:03d}",
                boundary=geometries[i][0],
            )
            for i in range(WARDS)
        )
        old_wards = OldWard.objects.bulk_create(
            OldWard(ward=ward, name=f"{ward.name} {OLD_SUFFIXES[k]}", boundary=MultiPolygon(cell, srid=4326))
            for ward, (_boundary, cells) in zip(wards, geometries, strict=True)
            for k, cell in enumerate(cells)
        )
        olds_by_ward: dict[int, list[OldWard]] = {}
        for old in old_wards:
            olds_by_ward.setdefault(old.ward_id, []).append(old)
        print(f"  {len(wards)} wards, {len(old_wards)} old wards ({time.perf_counter() - started:.1f} s)")

        password = make_password("bench-not-a-login")  # one hash for all: nobody signs in with it
        users = user_model.objects.bulk_create(
            user_model(username=f"official.{ward.slug}", password=password, is_active=True) for ward in wards
        )
        Membership.objects.bulk_create(
            Membership(user=user, ward=ward, role=Role.OFFICIAL, is_home=True) for user, ward in zip(users, wards, strict=True)
        )

        total = 0
        batch: list[Camera] = []
        for index, ward in enumerate(wards):
            rng = random.Random(f"cameras-{index}")
            olds = olds_by_ward[ward.pk]
            cells = geometries[index][1]
            inner = [cell.buffer(-0.0002) for cell in cells]
            prepared = [g.prepared for g in inner]
            cameras: list[Camera] = []
            # 10 AI sites of 4 cameras each, looking four ways from one pole.
            for s in range(AI_SITES_PER_WARD):
                k = s % OLD_WARDS_PER_WARD
                pole = random_point(rng, prepared[k], inner[k].extent)
                street, cross = rng.sample(STREETS, 2)
                for i in range(4):
                    point = Point(pole.x + rng.uniform(-6e-5, 6e-5), pole.y + rng.uniform(-6e-5, 6e-5), srid=4326)
                    cameras.append(
                        Camera(
                            ward=ward,
                            old_ward=olds[k],
                            code=f"{ward.code}-AI-{s + 1:02d}-{i + 1}",
                            name=f"Nút giao {street} – {cross}, hướng {i + 1}",
                            address=f"{street} × {cross}",
                            location=point,
                            heading=(i * 90 + rng.uniform(-15, 15)) % 360,
                            fov_angle=rng.choice([70, 90, 100]),
                            range_m=rng.choice([60, 80, 100]),
                            kind=Camera.Kind.AI,
                            programme=Camera.Programme.AI_CENTRE,
                            status=weighted(rng, [("online", 92), ("maintenance", 5), ("offline", 3)]),
                            installed_on=dt.date(2026, 4, 20),
                            cost_vnd=12_500_000,
                            main_stream_url=f"rtsp://10.{index}.{s}.{i + 10}:554/Streaming/Channels/101",
                            sub_stream_url=f"rtsp://10.{index}.{s}.{i + 10}:554/Streaming/Channels/102",
                            stream_username="viewer",
                            stream_password=f"pw-{index}-{s}-{i}",
                            retention_days=30,
                        )
                    )
            legacy = CAMERAS_PER_WARD - len(cameras)
            for n in range(legacy):
                k = n % OLD_WARDS_PER_WARD
                street = rng.choice(STREETS)
                angle = 360.0 if n % 25 == 0 else float(rng.choice([60, 75, 90]))  # a few all-round domes
                cameras.append(
                    Camera(
                        ward=ward,
                        old_ward=olds[k],
                        code=f"{ward.code}-{k + 1}{n + 1:04d}",
                        name=f"Camera {street} {n + 1}",
                        address=f"{rng.randint(1, 400)} {street}, {olds[k].name}",
                        location=random_point(rng, prepared[k], inner[k].extent),
                        heading=(rng.choice([0, 45, 90, 135, 180, 225, 270, 315]) + rng.uniform(-10, 10)) % 360,
                        fov_angle=angle,
                        range_m=float(rng.choice([25, 30, 40, 50])),
                        kind=Camera.Kind.REGULAR,
                        programme=weighted(rng, LEGACY_PROGRAMME),
                        status=weighted(rng, LEGACY_STATUS),
                        installed_on=dt.date(rng.choice([2019, 2020, 2021, 2022, 2023]), rng.randint(1, 12), 1),
                        retention_days=14,
                    )
                )
            for camera in cameras:
                camera.fov = sector_polygon(camera.location, camera.heading, camera.fov_angle, camera.range_m)
            batch += cameras
            if len(batch) >= 5000 or index == WARDS - 1:
                Camera.objects.bulk_create(batch, batch_size=1000)
                total += len(batch)
                batch = []
                print(f"  {total} cameras ({time.perf_counter() - started:.1f} s)")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"filled in {time.perf_counter() - started:.1f} s (VACUUM ANALYZE done)")


# --- Measurement ----------------------------------------------------------------------------------


@dataclass
class Endpoint:
    key: str
    title: str
    # One (client, url) per sampled ward; requests rotate over them.
    requests: list[tuple[Any, str]]
    extra: bool = False
    count: int = 0  # timed requests; set from the command line
    wall_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    kbytes: list[float] = field(default_factory=list)

    def reset(self) -> None:
        self.wall_ms, self.cpu_ms, self.sql_ms, self.sizes, self.kbytes = [], [], [], [], []

    @property
    def p95(self) -> float:
        return percentile(self.wall_ms, 0.95)

    @property
    def missed(self) -> bool:
        return self.p95 >= TARGET_MS

    @property
    def work_p95(self) -> float:
        """p95 of Python CPU + SQL time: the wall time less what was lost waiting for a CPU."""
        return percentile([c + s for c, s in zip(self.cpu_ms, self.sql_ms, strict=True)], 0.95)

    @property
    def verdict(self) -> str:
        if not self.missed:
            return "ok"
        return "MISS" if self.work_p95 >= TARGET_MS else "MISS (load: work p95 ok)"


def response_size(response: Any) -> int:
    """Rows in the response: features of a layer, results of a list, areas of a coverage."""
    if "json" not in response.get("Content-Type", ""):
        return 0
    data = response.json()
    if "features" in data:
        return len(data["features"])
    if "results" in data:
        return len(data["results"])
    if "old_wards" in data:
        return 1 + len(data["old_wards"])
    return 0


def build_endpoints(sample: int) -> list[Endpoint]:
    from django.contrib.auth import get_user_model
    from django.urls import reverse
    from rest_framework.test import APIClient

    from portal.middleware import SESSION_KEY
    from portal.models import Ward

    wards = list(Ward.objects.filter(slug__startswith=SLUG_PREFIX).order_by("slug"))
    chosen = wards[:: max(1, len(wards) // sample)][:sample]
    rows = []
    for ward in chosen:
        client = APIClient()
        client.force_login(get_user_model().objects.get(username=f"official.{ward.slug}"))
        session = client.session
        session[SESSION_KEY] = ward.pk  # the ward chosen in the UI
        session.save()
        rows.append((ward, client))

    cameras = reverse("api:camera-list")

    def bbox(ward: Any) -> str:
        return ",".join(f"{v:.6f}" for v in viewport(ward.boundary))

    filters = "status=online&programme=old_ward"
    return [
        Endpoint(
            "a",
            "map layer, 1.5×1 km viewport",
            [(c, f"{cameras}?format=geojson&ward={w.slug}&in_bbox={bbox(w)}&page_size=5000") for w, c in rows],
        ),
        Endpoint("b1", "camera list, filters + q", [(c, f"{cameras}?ward={w.slug}&{filters}&q={TEXT_QUERY}") for w, c in rows]),
        Endpoint("b2", "camera list, filters, no q", [(c, f"{cameras}?ward={w.slug}&{filters}") for w, c in rows]),
        Endpoint("c", "dashboard page /", [(c, reverse("dashboard")) for _w, c in rows]),
        Endpoint("d", "ward coverage API", [(c, reverse("api:ward-coverage", args=[w.pk])) for w, c in rows]),
        Endpoint(
            "x1",
            "extra: map page, ward points",
            [(c, f"{cameras}?ward={w.pk}&format=geojson&page_size=5000") for w, c in rows],
            extra=True,
        ),
        Endpoint(
            "x2",
            "extra: map page, ward sectors",
            [(c, f"{cameras}?ward={w.pk}&format=geojson&geometry=fov&page_size=5000") for w, c in rows],
            extra=True,
        ),
    ]


def call(client: Any, url: str) -> Any:
    response = client.get(url)
    if response.status_code != 200:
        body = response.content[:500].decode(errors="replace")
        raise SystemExit(f"GET {url} answered {response.status_code}: {body}")
    return response


class SqlTimer:
    """``connection.execute_wrapper`` that adds up the time spent in ``cursor.execute``."""

    def __init__(self) -> None:
        self.total = 0.0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.total += time.perf_counter() - started


def measure(endpoints: list[Endpoint], warmup: int) -> None:
    """Warm every endpoint up, then time them interleaved, so load from elsewhere hits all alike."""
    from django.db import connection

    for endpoint in endpoints:
        endpoint.reset()
    for i in range(warmup):
        for endpoint in endpoints:
            call(*endpoint.requests[i % len(endpoint.requests)])
    timer = SqlTimer()
    with connection.execute_wrapper(timer):
        for i in range(max(e.count for e in endpoints)):
            for endpoint in [e for e in endpoints if i < e.count]:
                client, url = endpoint.requests[i % len(endpoint.requests)]
                timer.total = 0.0
                wall, cpu = time.perf_counter(), time.process_time()
                response = call(client, url)
                endpoint.wall_ms.append((time.perf_counter() - wall) * 1000)
                endpoint.sql_ms.append(timer.total * 1000)
                # Includes the driver's CPU inside execute, also in sql: cpu + sql overstates a little.
                endpoint.cpu_ms.append((time.process_time() - cpu) * 1000)
                endpoint.sizes.append(response_size(response))
                endpoint.kbytes.append(len(response.content) / 1024)


def print_table(endpoints: list[Endpoint]) -> None:
    head = f"{'':4}{'endpoint':31}{'n':>3}{'p50':>7}{'p95':>7}{'max':>7}{'cpu p50':>8}{'sql p50':>8}{'work p95':>9}"
    print(f"{head}{'rows':>5}{'KiB':>5}  p95 < {TARGET_MS:.0f} ms")
    for e in endpoints:
        print(
            f"{e.key:4}{e.title:31}{len(e.wall_ms):3d}{percentile(e.wall_ms, 0.5):7.0f}{e.p95:7.0f}{max(e.wall_ms):7.0f}"
            f"{percentile(e.cpu_ms, 0.5):8.1f}{percentile(e.sql_ms, 0.5):8.1f}{e.work_p95:9.1f}"
            f"{statistics.mean(e.sizes):5.0f}{statistics.mean(e.kbytes):5.0f}  {e.verdict}"
        )
    print(
        "(ms of wall clock; cpu: CPU time of this Python process; sql: time in cursor.execute, PostgreSQL included;\n"
        " work = cpu + sql per request, i.e. the wall time less waiting for a busy CPU; 'MISS (load …)': only the wait misses)"
    )


@dataclass
class Breakdown:
    total_ms: float
    queries: list[tuple[float, str]]  # (ms, sql)

    @property
    def sql_ms(self) -> float:
        return sum(ms for ms, _sql in self.queries)

    def slowest(self) -> tuple[float, str]:
        return max(self.queries, default=(0.0, ""))

    def repeated(self) -> tuple[int, float, str]:
        """The most repeated query shape (numbers blanked): (count, total ms, example)."""
        groups: dict[str, list[tuple[float, str]]] = {}
        for ms, sql in self.queries:
            groups.setdefault(re.sub(r"\b\d+\b", "?", sql), []).append((ms, sql))
        shape = max(groups, key=lambda k: len(groups[k]), default="")
        rows = groups.get(shape, [])
        return len(rows), sum(ms for ms, _ in rows), rows[0][1] if rows else ""


def breakdown(endpoint: Endpoint) -> Breakdown:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        call(*endpoint.requests[0])
        total = (time.perf_counter() - started) * 1000
    return Breakdown(total_ms=total, queries=[(float(q["time"]) * 1000, q["sql"]) for q in captured.captured_queries])


def explain(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def profile(endpoint: Endpoint, lines: int = 20) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    call(*endpoint.requests[0])
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(lines)
    return out.getvalue()


def shorten(sql: str, limit: int) -> str:
    sql = " ".join(sql.split())
    return sql if len(sql) <= limit else sql[:limit] + " …"


def diagnose(endpoints: list[Endpoint], with_profile: bool) -> None:
    print("\nOne more request each, queries captured (SQL time as Django's debug cursor measures it):")
    details = {}
    for e in endpoints:
        info = details[e.key] = breakdown(e)
        ms, sql = info.slowest()
        count, repeated_ms, _example = info.repeated()
        print(
            f"{e.key:4}{info.total_ms:7.1f} ms = {info.sql_ms:6.1f} ms SQL in {len(info.queries):3d} queries"
            f" + {info.total_ms - info.sql_ms:6.1f} ms Python; slowest query {ms:5.1f} ms"
            + (f"; {count} × the same query ({repeated_ms:.1f} ms)" if count > 10 else "")
        )
        print(f"      slowest: {shorten(sql, 240)}")
    for e in [e for e in endpoints if e.missed]:
        info = details[e.key]
        print(f"\n=== {e.key} {e.title}: p95 {e.p95:.1f} ms ≥ {TARGET_MS:.0f} ms ===")
        print(f"GET {e.requests[0][1]}")
        count, repeated_ms, example = info.repeated()
        if count > 10:
            print(f"N+1: {count} queries of one shape, {repeated_ms:.1f} ms in all, e.g.\n  {shorten(example, 400)}")
        ms, sql = info.slowest()
        if sql:
            print(f"slowest query ({ms:.1f} ms):\n  {shorten(sql, 1500)}\nEXPLAIN (ANALYZE, BUFFERS):")
            print("\n".join("  " + line for line in explain(sql).splitlines()))
        if with_profile:
            print(f"cProfile of one request, by own time:\n{profile(e)}")


# --- What if: the fixes, applied in this process only --------------------------------------------


def load() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def run(args: argparse.Namespace) -> None:
    import django

    name = ensure_database(args.refill)
    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    assert settings.IS_POSTGIS, "DATABASE_URL must point at PostGIS"
    assert connection.settings_dict["NAME"] == name
    call_command("migrate", verbosity=0, interactive=False)
    if data_present():
        print(f"data present in {name}: {WARDS} wards, {WARDS * CAMERAS_PER_WARD} cameras (--refill rebuilds it)")
    else:
        print(f"filling {name}: {WARDS} wards × {CAMERAS_PER_WARD} cameras")
        fill()

    with connection.cursor() as cursor:
        cursor.execute("SELECT version(), postgis_lib_version(), postgis_geos_version()")
        pg, postgis, geos = cursor.fetchone()
    print(f"{pg.split(',')[0]}; PostGIS {postgis}, GEOS {geos}; Django {django.get_version()}; DEBUG={settings.DEBUG}")

    endpoints = build_endpoints(args.wards)
    for e in endpoints:
        e.count = args.extra_requests if e.extra else args.requests
    warmup = len(endpoints[0].requests) if args.warmup is None else args.warmup
    print(
        f"\n{args.requests} timed requests per endpoint ({args.extra_requests} for the extras), interleaved, rotating over"
        f" {len(endpoints[0].requests)} wards, after {warmup} warm-up rounds over all endpoints and wards"
        " (steady state of a server that has served the map page)."
    )
    print(f"before: {load()}")
    measure(endpoints, warmup)
    print(f"after:  {load()}\n")
    print_table(endpoints)
    diagnose(endpoints, args.profile)
    missed = [e.key for e in endpoints if e.missed]
    print(f"\nOver target: {', '.join(missed)}" if missed else "\nEvery endpoint meets the target.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--refill", action="store_true", help="drop and re-create the database, fill it again")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per endpoint (default 50)")
    parser.add_argument("--extra-requests", type=int, default=15, help="timed requests per extra endpoint (default 15)")
    parser.add_argument("--warmup", type=int, help="untimed rounds over all endpoints first (default: one per ward)")
    parser.add_argument("--wards", type=int, default=10, help="wards (each with its official) to rotate over (default 10)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of each endpoint over the target")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
