"""Load the demo: ward Tăng Nhơn Phú (4 old wards, 9 AI sites, 200+ cameras, a sponsor) and ward
Phước Long (smaller), with one user per role per ward. Idempotent: a second run changes nothing.

Geometry is plausible for the east of Ho Chi Minh City (former Thủ Đức city) but drawn by hand:
boundaries are simplified polygons, cameras are spread deterministically inside the old wards.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.core.management.base import BaseCommand
from django.db import transaction

from cameras.models import Camera, Funding, Site, Sponsor
from cameras.services import validate_camera
from portal.models import Membership, OldWard, Role, Ward
from portal.services import audit

Coord = tuple[float, float]


@dataclass(frozen=True)
class WardPlan:
    name: str
    slug: str
    code: str
    # A 3×3 grid of vertices (lon, lat), row by row from the north-west; the old wards are the four
    # cells between them, so they tile the ward exactly.
    grid: list[list[Coord]]
    old_wards: list[str]  # NW, NE, SW, SE
    cameras_per_old_ward: list[int]


TNP = WardPlan(
    name="Phường Tăng Nhơn Phú",
    slug="tang-nhon-phu",
    code="TNP",
    grid=[
        [(106.7640, 10.8600), (106.7890, 10.8615), (106.8150, 10.8590)],
        [(106.7655, 10.8440), (106.7880, 10.8425), (106.8135, 10.8450)],
        [(106.7665, 10.8260), (106.7905, 10.8275), (106.8120, 10.8255)],
    ],
    old_wards=["Hiệp Phú", "Tăng Nhơn Phú A", "Tân Phú", "Tăng Nhơn Phú B"],
    cameras_per_old_ward=[52, 50, 48, 51],
)

PHUOC_LONG = WardPlan(
    name="Phường Phước Long",
    slug="phuoc-long",
    code="PL",
    grid=[
        [(106.7450, 10.8245), (106.7545, 10.8250), (106.7640, 10.8240)],
        [(106.7455, 10.8150), (106.7550, 10.8145), (106.7635, 10.8155)],
        [(106.7460, 10.8055), (106.7545, 10.8060), (106.7630, 10.8050)],
    ],
    old_wards=["Phước Long A (bắc)", "Phước Long A (nam)", "Phước Long B (bắc)", "Phước Long B (nam)"],
    cameras_per_old_ward=[6, 6, 6, 6],
)

TNP_SITES = [
    ("S01", "Nút giao Lê Văn Việt – Man Thiện", "Lê Văn Việt × Man Thiện"),
    ("S02", "Chợ Tăng Nhơn Phú", "Đường Lã Xuân Oai"),
    ("S03", "Ngã ba Lã Xuân Oai – Lê Văn Việt", "Lã Xuân Oai × Lê Văn Việt"),
    ("S04", "Cổng trường THCS Hoa Lư", "Đường Đình Phong Phú"),
    ("S05", "Nút giao Đỗ Xuân Hợp – Lê Văn Việt", "Đỗ Xuân Hợp × Lê Văn Việt"),
    ("S06", "Khu dân cư Tân Phú", "Đường số 400"),
    ("S07", "Cầu Tăng Long", "Đường Lò Lu"),
    ("S08", "Công viên Hiệp Phú", "Đường Tân Lập 2"),
    ("S09", "Ngã tư Nguyễn Xiển", "Nguyễn Xiển × Lò Lu"),
]
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
    "Tăng Nhơn Phú",
]
SPONSOR = "Công ty Cổ phần Phát triển Đô thị Đông Sài Gòn"
LEGACY_STATUS = [("online", 55), ("offline", 14), ("to_restore", 20), ("maintenance", 6), ("planned", 5)]


def cell(grid: list[list[Coord]], row: int, col: int) -> Polygon:
    a, b = grid[row][col], grid[row][col + 1]
    c, d = grid[row + 1][col + 1], grid[row + 1][col]
    return Polygon([a, b, c, d, a], srid=4326)


def random_point_in(rng: random.Random, polygon: Polygon) -> Point:
    x0, y0, x1, y1 = polygon.extent
    while True:
        point = Point(rng.uniform(x0, x1), rng.uniform(y0, y1), srid=4326)
        if polygon.buffer(-0.0004).contains(point):
            return point


def weighted(rng: random.Random, table: list[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


class Command(BaseCommand):
    help = "Load the demo wards, users, sites, sponsor and cameras (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            created = 0
            for plan in (TNP, PHUOC_LONG):
                created += self.seed_ward(plan)
            created += self.seed_users()
            if created:
                audit(action="demo_seeded", detail={"rows": created})
        self.stdout.write(f"demo data ready ({created} rows added); password of the demo users: {settings.DEMO_PASSWORD}")

    def seed_ward(self, plan: WardPlan) -> int:
        cells = [cell(plan.grid, r, c) for r in range(2) for c in range(2)]
        boundary: Any = cells[0]
        for extra in cells[1:]:
            boundary = boundary.union(extra)
        ward, made = Ward.objects.get_or_create(
            slug=plan.slug, defaults={"name": plan.name, "code": plan.code, "boundary": MultiPolygon(boundary, srid=4326)}
        )
        count = int(made)
        olds = []
        for name, polygon in zip(plan.old_wards, cells, strict=True):
            old, made = OldWard.objects.get_or_create(
                ward=ward, name=name, defaults={"boundary": MultiPolygon(polygon, srid=4326)}
            )
            olds.append(old)
            count += int(made)
        rng = random.Random(plan.slug)
        sites: list[Site] = []
        sponsor = None
        if plan is TNP:
            sponsor, made = Sponsor.objects.get_or_create(
                ward=ward,
                name=SPONSOR,
                defaults={"website": "https://dongsaigon.example.vn", "note": "Tài trợ Trung tâm camera AI"},
            )
            count += int(made)
            for code, name, address in TNP_SITES:
                old = olds[len(sites) % 4]
                site, made = Site.objects.get_or_create(
                    ward=ward,
                    code=code,
                    defaults={"name": name, "address": address, "location": random_point_in(rng, old.boundary[0])},
                )
                sites.append(site)
                count += int(made)
        cameras = self.plan_cameras(plan, ward, olds, sites, sponsor, rng)
        existing = set(Camera.objects.filter(ward=ward).values_list("code", flat=True))
        new = [c for c in cameras if c.code not in existing]
        for camera in new:
            validate_camera(camera)
        Camera.objects.bulk_create(new)
        count += len(new)
        if sponsor is not None and not Funding.objects.filter(ward=ward, sponsor=sponsor).exists():
            funding = Funding.objects.create(
                ward=ward,
                sponsor=sponsor,
                amount_vnd=450_000_000,
                date=dt.date(2026, 3, 15),
                note="Trung tâm camera AI: 9 điểm, 36 camera AI",
            )
            funding.cameras.set(Camera.objects.filter(ward=ward, kind=Camera.Kind.AI))
            Funding.objects.create(
                ward=ward, sponsor=sponsor, amount_vnd=50_000_000, date=dt.date(2026, 6, 1), note="Khôi phục camera cũ đợt 1"
            )
            count += 2
        return count

    def plan_cameras(
        self, plan: WardPlan, ward: Ward, olds: list[OldWard], sites: list[Site], sponsor: Sponsor | None, rng: random.Random
    ) -> list[Camera]:
        cameras: list[Camera] = []
        for site in sites:
            for i in range(4):
                point = site.location
                assert point is not None
                cameras.append(
                    Camera(
                        ward=ward,
                        code=f"AI-{site.code}-{i + 1}",
                        name=f"{site.name} – hướng {i + 1}",
                        address=site.address,
                        location=Point(point.x + rng.uniform(-6e-5, 6e-5), point.y + rng.uniform(-6e-5, 6e-5), srid=4326),
                        heading=round((i * 90 + rng.uniform(-15, 15)) % 360),
                        fov_angle=rng.choice([70, 90, 100]),
                        range_m=rng.choice([60, 80, 100]),
                        kind=Camera.Kind.AI,
                        programme=Camera.Programme.AI_CENTRE,
                        status=weighted(rng, [("online", 92), ("maintenance", 5), ("offline", 3)]),
                        site=site,
                        sponsor=sponsor,
                        installed_on=dt.date(2026, 4, 20),
                        cost_vnd=12_500_000,
                        main_stream_url=f"rtsp://10.20.{len(cameras) // 200}.{len(cameras) % 200 + 10}:554/Streaming/Channels/101",
                        sub_stream_url=f"rtsp://10.20.{len(cameras) // 200}.{len(cameras) % 200 + 10}:554/Streaming/Channels/102",
                        retention_days=30,
                        analysis_fps=5,
                    )
                )
        for index, (old, total) in enumerate(zip(olds, plan.cameras_per_old_ward, strict=True)):
            for n in range(total):
                city = n % 4 == 0
                programme = (
                    Camera.Programme.CITY if city else (Camera.Programme.OTHER if n % 17 == 5 else Camera.Programme.OLD_WARD)
                )
                prefix = {"city": "CT", "old_ward": f"OW{index + 1}", "other": "KH"}[programme]
                street = rng.choice(STREETS)
                cameras.append(
                    Camera(
                        ward=ward,
                        code=f"{plan.code}-{prefix}-{index + 1}{n + 1:03d}",
                        name=f"Camera {street} {n + 1}",
                        address=f"{rng.randint(1, 400)} {street}, {old.name}",
                        location=random_point_in(rng, old.boundary[0]),
                        heading=round((rng.choice([0, 45, 90, 135, 180, 225, 270, 315]) + rng.uniform(-10, 10)) % 360),
                        fov_angle=rng.choice([60, 75, 90]),
                        range_m=rng.choice([25, 30, 40, 50]),
                        kind=Camera.Kind.REGULAR,
                        programme=programme,
                        status=weighted(rng, LEGACY_STATUS),
                        installed_on=dt.date(rng.choice([2019, 2020, 2021, 2022, 2023]), rng.randint(1, 12), 1),
                        retention_days=14,
                        analysis_fps=5,
                    )
                )
        return cameras

    def seed_users(self) -> int:
        user_model = get_user_model()
        count = 0
        for ward in Ward.objects.filter(slug__in=[TNP.slug, PHUOC_LONG.slug]):
            for role in Role.values:
                username = f"{role}.{ward.slug}"
                user = user_model.objects.filter(username=username).first()
                if user is None:
                    user = user_model.objects.create_user(username=username, password=settings.DEMO_PASSWORD)
                    count += 1
                _m, made = Membership.objects.get_or_create(user=user, ward=ward, defaults={"role": role, "is_home": True})
                count += int(made)
        # A city police investigator: member of both wards, home ward Tăng Nhơn Phú.
        city = user_model.objects.filter(username="investigator.city").first()
        if city is None:
            city = user_model.objects.create_user(username="investigator.city", password=settings.DEMO_PASSWORD)
            count += 1
        for ward in Ward.objects.filter(slug__in=[TNP.slug, PHUOC_LONG.slug]):
            _m, made = Membership.objects.get_or_create(
                user=city, ward=ward, defaults={"role": Role.INVESTIGATOR, "is_home": ward.slug == TNP.slug}
            )
            count += int(made)
        return count
