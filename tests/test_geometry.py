"""Field-of-view sectors, position checks, coverage shares and the map filters (bbox, distance).

Distances are measured independently of ``cameras.geometry``: with a haversine on the WGS 84 radius
of curvature in the direction measured, and in UTM zone 48N (EPSG:32648) through GDAL.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from django.contrib.gis.geos import Point, Polygon
from django.urls import reverse

from cameras.coverage import ward_coverage
from cameras.geometry import check_position, offset, sector_polygon
from cameras.models import Camera
from portal.models import OldWard
from tests.base.factories import OldWardFactory, WardFactory, box, camera_in

pytestmark = pytest.mark.usefixtures("english")


LON, LAT = 106.78, 10.84
WGS84_A = 6_378_137.0
WGS84_E2 = (1 / 298.257223563) * (2 - 1 / 298.257223563)


def earth_radius(lat: float, bearing: float) -> float:
    """WGS 84 radius of curvature at ``lat`` along ``bearing`` (Euler's formula)."""
    s = math.sin(math.radians(lat))
    w = 1 - WGS84_E2 * s * s
    meridional = WGS84_A * (1 - WGS84_E2) / w**1.5
    prime_vertical = WGS84_A / math.sqrt(w)
    b = math.radians(bearing)
    return 1 / (math.cos(b) ** 2 / meridional + math.sin(b) ** 2 / prime_vertical)


def haversine(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres on the sphere that osculates the ellipsoid along the path."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    bearing = math.degrees(
        math.atan2(math.sin(dl) * math.cos(p2), math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl))
    )
    return 2 * earth_radius(lat1, bearing) * math.asin(math.sqrt(h))


def utm(x: float, y: float) -> Point:
    return Point(x, y, srid=4326).transform(32648, clone=True)


def metric_area(polygon: Polygon) -> float:
    return polygon.transform(32648, clone=True).area


# -- sectors -------------------------------------------------------------------------------------


def test_sector_apex_arc_and_area() -> None:
    sector = sector_polygon(Point(LON, LAT, srid=4326), 90, 90, 100)
    ring = sector.coords[0]
    assert sector.srid == 4326 and sector.valid
    # The apex is the camera, at both ends of the ring.
    assert ring[0] == pytest.approx((LON, LAT)) and ring[-1] == ring[0]
    arc = ring[1:-1]
    for x, y in arc:
        assert haversine(LON, LAT, x, y) == pytest.approx(100, abs=0.5)
    # Heading 90° (east) with 90° angle: the arc runs from north-east (45°) to south-east (135°).
    bearings = [math.degrees(math.atan2((x - LON) * math.cos(math.radians(LAT)), y - LAT)) for x, y in arc]
    assert bearings[0] == pytest.approx(45, abs=0.5) and bearings[-1] == pytest.approx(135, abs=0.5)
    assert all(x > LON for x, _y in arc), "an east-looking camera sees nothing west of itself"
    assert metric_area(sector) == pytest.approx(math.pi * 100**2 * 90 / 360, rel=0.01)


@pytest.mark.parametrize("heading", [0, 45, 180, 270, 359])
def test_sector_range_holds_in_every_direction_on_the_ellipsoid(heading: float) -> None:
    """A 1 km camera sees 1 km on the ground whichever way it looks (measured in UTM, scale ≈ 1.0001 here)."""
    sector = sector_polygon(Point(LON, LAT, srid=4326), heading, 120, 1000)
    apex = utm(LON, LAT)
    for x, y in sector.coords[0][1:-1]:
        assert apex.distance(utm(x, y)) == pytest.approx(1000, abs=1.0)
    assert metric_area(sector) == pytest.approx(math.pi * 1000**2 * 120 / 360, rel=0.005)


def test_offset_north_and_east_match_wgs84() -> None:
    north = offset(LON, LAT, 0, 500)
    east = offset(LON, LAT, 90, 500)
    assert north[0] == pytest.approx(LON) and east[1] == pytest.approx(LAT)
    assert utm(LON, LAT).distance(utm(*north)) == pytest.approx(500, abs=0.2)
    assert utm(LON, LAT).distance(utm(*east)) == pytest.approx(500, abs=0.2)


def test_full_circle_camera() -> None:
    circle = sector_polygon(Point(LON, LAT, srid=4326), 123, 360, 100)
    ring = circle.coords[0]
    assert circle.valid and circle[0].closed
    assert (LON, LAT) not in ring, "a 360° camera has no apex on its outline"
    for x, y in ring:
        assert haversine(LON, LAT, x, y) == pytest.approx(100, abs=0.5)
    assert circle.contains(Point(LON, LAT, srid=4326))
    assert metric_area(circle) == pytest.approx(math.pi * 100**2, rel=0.01)


@pytest.mark.parametrize("angle,range_m", [(0, 50), (-10, 50), (90, 0), (90, -5)])
def test_sector_refuses_empty_shapes(angle: float, range_m: float) -> None:
    with pytest.raises(ValueError):
        sector_polygon(Point(LON, LAT, srid=4326), 0, angle, range_m)


def test_check_position() -> None:
    assert check_position(106.78, 10.84) is None
    assert check_position(105.85, 21.03) is None  # Hà Nội
    swapped = check_position(10.84, 106.78)
    assert swapped is not None and "swapped" in swapped
    for lon, lat in [(2.35, 48.85), (100.5, 13.75), (-106.78, 10.84), (106.78, -10.84)]:
        message = check_position(lon, lat)
        assert message is not None and "outside Vietnam" in message, (lon, lat)
    for lon, lat in [(190, 10), (106, 91), (math.nan, 10.84), (106.78, math.inf)]:
        message = check_position(lon, lat)
        assert message is not None and "valid" in message, (lon, lat)


# -- coverage ------------------------------------------------------------------------------------


@pytest.fixture
def square(db: Any) -> Any:
    """A ward of 0.04° × 0.04° (≈ 4.37 × 4.42 km) split into two old wards at latitude 10.84."""
    ward = WardFactory(slug="square", name="Square", code="SQ", boundary=box(106.76, 10.82, 106.80, 10.86))
    OldWardFactory(ward=ward, name="North", boundary=box(106.76, 10.84, 106.80, 10.86))
    OldWardFactory(ward=ward, name="South", boundary=box(106.76, 10.82, 106.80, 10.84))
    return ward


def _areas(ward: Any) -> dict[str, float]:
    areas = {"ward": metric_area(ward.boundary)}
    for old in OldWard.objects.filter(ward=ward):
        areas[old.name] = metric_area(old.boundary)
    return areas


def test_coverage_of_one_circle_inside(square: Any) -> None:
    r = 200
    camera_in(square, code="C1", location=Point(106.78, 10.85, srid=4326), fov_angle=360, range_m=r)
    areas = _areas(square)
    result = ward_coverage(square)
    assert result.ward.area_m2 == pytest.approx(areas["ward"], rel=1e-6)
    assert result.ward.share == pytest.approx(math.pi * r**2 / areas["ward"], rel=0.01)
    by_name = {a.name: a for a in result.old_wards}
    assert list(by_name) == ["North", "South"]
    assert by_name["North"].share == pytest.approx(math.pi * r**2 / areas["North"], rel=0.01)
    assert by_name["South"].covered_m2 == 0 and by_name["South"].share == 0


def test_coverage_counts_overlap_once_and_ignores_planned(square: Any) -> None:
    r = 150
    here = Point(106.77, 10.85, srid=4326)
    camera_in(square, code="C1", location=here, fov_angle=360, range_m=r)
    camera_in(square, code="C2", location=here, fov_angle=360, range_m=r, status=Camera.Status.OFFLINE)
    camera_in(
        square, code="P1", location=Point(106.79, 10.83, srid=4326), fov_angle=360, range_m=300, status=Camera.Status.PLANNED
    )
    areas = _areas(square)
    result = ward_coverage(square)
    assert result.ward.covered_m2 == pytest.approx(math.pi * r**2, rel=0.01)
    south = next(a for a in result.old_wards if a.name == "South")
    assert south.covered_m2 == 0, "a planned camera covers nothing yet"
    # Asked for, planned cameras count (the planning view).
    planned = ward_coverage(square, statuses=[Camera.Status.PLANNED])
    assert planned.ward.share == pytest.approx(math.pi * 300**2 / areas["ward"], rel=0.01)


def test_coverage_split_between_old_wards_and_clipped_at_the_ward_edge(square: Any) -> None:
    r = 100
    # On the line between North and South: half of the circle in each.
    camera_in(square, code="MID", location=Point(106.78, 10.84, srid=4326), fov_angle=360, range_m=r)
    # On the ward's west edge: only the eastern half is inside the ward.
    camera_in(square, code="EDGE", location=Point(106.76, 10.85, srid=4326), fov_angle=360, range_m=r)
    areas = _areas(square)
    result = ward_coverage(square)
    half = math.pi * r**2 / 2
    by_name = {a.name: a for a in result.old_wards}
    assert by_name["South"].covered_m2 == pytest.approx(half, rel=0.01)
    assert by_name["North"].covered_m2 == pytest.approx(2 * half, rel=0.01)
    assert result.ward.share == pytest.approx(3 * half / areas["ward"], rel=0.01)


def test_coverage_without_cameras_and_of_other_wards(square: Any) -> None:
    other = WardFactory(slug="other", name="Other", code="OT", boundary=box(106.70, 10.78, 106.74, 10.82))
    camera_in(other, code="O1", fov_angle=360, range_m=500)
    result = ward_coverage(square)
    assert result.ward.covered_m2 == 0 and result.ward.share == 0
    assert all(a.covered_m2 == 0 for a in result.old_wards)
    assert ward_coverage(other).ward.covered_m2 == pytest.approx(math.pi * 500**2, rel=0.01)


def test_coverage_api(api: Any, ward_a: Any, ward_b: Any) -> None:
    ward = ward_a.ward  # the same box as ``square``, split North/South at 10.84
    r = 250
    camera_in(ward, code="C1", location=Point(106.78, 10.83, srid=4326), fov_angle=360, range_m=r)
    camera_in(ward, code="C2", location=Point(106.77, 10.85, srid=4326), fov_angle=90, heading=0, range_m=r, status="maintenance")
    areas = _areas(ward)
    client = api(ward_a.users["official"])
    url = reverse("api:ward-coverage", args=[ward.pk])
    response = client.get(url)
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["ward"]["id"] == ward.pk
    assert data["ward"]["share"] == pytest.approx(1.25 * math.pi * r**2 / areas["ward"], rel=0.01)
    shares = {a["name"]: a["share"] for a in data["old_wards"]}
    assert shares["A south"] == pytest.approx(math.pi * r**2 / areas["A south"], rel=0.01)
    assert shares["A north"] == pytest.approx(0.25 * math.pi * r**2 / areas["A north"], rel=0.01)
    # Only online cameras: the maintenance one drops out.
    online = client.get(url + "?status=online").json()
    assert online["old_wards"][0]["share"] == 0 and online["old_wards"][0]["name"] == "A north"
    bad = client.get(url + "?status=broken")
    assert bad.status_code == 400 and "status" in bad.json() and "broken" in str(bad.json())
    # Another ward's coverage is not found.
    assert client.get(reverse("api:ward-coverage", args=[ward_b.ward.pk])).status_code == 404


# -- map filters ---------------------------------------------------------------------------------


def _codes(response: Any) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["code"] for row in response.json()["results"]}


def test_bbox_filter(api: Any, ward_a: Any) -> None:
    camera_in(ward_a.ward, code="IN", location=Point(106.7800, 10.8400, srid=4326))
    camera_in(ward_a.ward, code="OUT-E", location=Point(106.7812, 10.8400, srid=4326))
    camera_in(ward_a.ward, code="OUT-N", location=Point(106.7800, 10.8412, srid=4326))
    client = api(ward_a.users["official"])
    url = reverse("api:camera-list")
    assert _codes(client.get(url, {"in_bbox": "106.7790,10.8390,106.7810,10.8410"})) == {"IN"}
    assert _codes(client.get(url, {"in_bbox": "106.7790,10.8390,106.7813,10.8410"})) == {"IN", "OUT-E"}
    geo = client.get(url, {"in_bbox": "106.7790,10.8390,106.7810,10.8410", "format": "geojson"}).json()
    assert [f["properties"]["code"] for f in geo["features"]] == ["IN"]


def test_bbox_filter_malformed(api: Any, ward_a: Any) -> None:
    camera_in(ward_a.ward)
    client = api(ward_a.users["official"])
    url = reverse("api:camera-list")
    assert client.get(url + "?in_bbox=").status_code == 200  # an empty filter is no filter
    wrong = []
    for value in [
        "106.7,10.8,106.8",
        "a,b,c,d",
        "106.7,10.8,106.8,10.9,5",
        "106.8,10.8,106.7,10.9",
        "106.7,10.9,106.8,10.8",
        "nan,nan,nan,nan",
        "-inf,-inf,inf,inf",
        "-200,10.8,106.8,10.9",
        "106.7,-95,106.8,10.9",
    ]:
        response = client.get(url, {"in_bbox": value})
        if response.status_code != 400 or "in_bbox" not in response.json():
            wrong.append((value, response.status_code, response.content[:200]))
    assert wrong == []


def test_distance_filter(api: Any, ward_a: Any) -> None:
    centre = (106.78, 10.84)
    camera_in(ward_a.ward, code="E100", location=Point(*offset(*centre, 90, 100), srid=4326))
    camera_in(ward_a.ward, code="N300", location=Point(*offset(*centre, 0, 300), srid=4326))
    camera_in(ward_a.ward, code="SW600", location=Point(*offset(*centre, 225, 600), srid=4326))
    client = api(ward_a.users["official"])
    url = reverse("api:camera-list")
    near = "106.78,10.84"
    assert _codes(client.get(url, {"near": near, "radius_m": 98})) == set()
    assert _codes(client.get(url, {"near": near, "radius_m": 102})) == {"E100"}
    assert _codes(client.get(url, {"near": near, "radius_m": 297})) == {"E100"}
    assert _codes(client.get(url, {"near": near, "radius_m": 303})) == {"E100", "N300"}
    assert _codes(client.get(url, {"near": near})) == {"E100", "N300"}  # default 500 m
    assert _codes(client.get(url, {"near": near, "radius_m": 606})) == {"E100", "N300", "SW600"}


def test_distance_filter_malformed(api: Any, ward_a: Any) -> None:
    camera_in(ward_a.ward)
    client = api(ward_a.users["official"])
    wrong = []
    for params, field in [
        ({"near": "106.78"}, "near"),
        ({"near": "east,north"}, "near"),
        ({"near": "106.78,10.84,5"}, "near"),
        ({"near": "nan,10.84"}, "near"),
        ({"near": "106.78,95"}, "near"),
        ({"near": "106.78,10.84", "radius_m": "far"}, "radius_m"),
        ({"near": "106.78,10.84", "radius_m": "0"}, "radius_m"),
        ({"near": "106.78,10.84", "radius_m": "-5"}, "radius_m"),
        ({"near": "106.78,10.84", "radius_m": "50000"}, "radius_m"),
        ({"near": "106.78,10.84", "radius_m": "nan"}, "radius_m"),
    ]:
        response = client.get(reverse("api:camera-list"), params)
        if response.status_code != 400 or field not in response.json():
            wrong.append((params, response.status_code, response.content[:200]))
    assert wrong == []


def test_cached_coverage_follows_camera_and_boundary_changes(ward_a: Any, django_capture_on_commit_callbacks: Any) -> None:
    from django.contrib.gis.geos import MultiPolygon, Polygon

    from cameras.coverage import ward_coverage
    from cameras.services import save_camera
    from portal.models import OldWard
    from portal.services import save_owned
    from tests.base.factories import camera_in

    assert ward_coverage(ward_a.ward).ward.covered_m2 == 0
    camera = camera_in(ward_a.ward, code="CACHE-1", fov_angle=360, range_m=100)
    first = ward_coverage(ward_a.ward).ward.covered_m2
    assert first > 0
    camera.range_m = 50
    save_camera(camera=camera, actor=None)
    assert ward_coverage(ward_a.ward).ward.covered_m2 == pytest.approx(first / 4, rel=0.02)
    before = {o.name: o.area_m2 for o in ward_coverage(ward_a.ward).old_wards}
    north = OldWard.objects.get(ward=ward_a.ward, name="A north")
    north.boundary = MultiPolygon(Polygon.from_bbox((106.76, 10.85, 106.80, 10.86)), srid=4326)
    with django_capture_on_commit_callbacks(execute=True):
        save_owned(obj=north, actor=None)
    after = {o.name: o.area_m2 for o in ward_coverage(ward_a.ward).old_wards}
    assert after["A north"] == pytest.approx(before["A north"] / 2, rel=0.02)
