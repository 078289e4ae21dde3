"""Plate search and vehicle routes as investigators use them (DESIGN.md §6, issue #6 items 2–3).

Real database (SpatiaLite or PostGIS), real API views; reads placed on cameras at known points.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.contrib.gis.geos import Point

from portal.models import AuditEntry
from tests.base.analysis import T0, plate_read_in
from tests.base.factories import camera_in
from tests.conftest import WardWorld

pytestmark = pytest.mark.django_db

URL = "/api/plate-reads/"
ROUTE = "/api/plate-route/"
WINDOW = {"since": T0.isoformat(), "until": (T0 + dt.timedelta(days=2)).isoformat(), "reason": "Vụ giật túi TNP-2026-0001"}


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


@pytest.fixture
def street(ward_a: WardWorld) -> dict[str, Any]:
    """Three cameras along a street of ward A (west to east) and reads of a few plates."""
    ward = ward_a.ward
    cams = [camera_in(ward, code=f"ST-{i}", location=Point(106.765 + 0.01 * i, 10.84, srid=4326)) for i in range(3)]
    reads = {
        "exact": plate_read_in(ward, cams[0], plate="51F-123.45", seen_at=at(10)),
        "slip": plate_read_in(ward, cams[1], plate="5IF-I23.4S", seen_at=at(12)),  # the same plate, OCR slips
        "third": plate_read_in(ward, cams[2], plate="51F-123.45", seen_at=at(30)),
        "neighbour": plate_read_in(ward, cams[0], plate="51F-123.46", seen_at=at(15)),
        "other_series": plate_read_in(ward, cams[1], plate="51G-777.45", seen_at=at(20)),
        "moto": plate_read_in(ward, cams[2], plate="59-X1 234.56", seen_at=at(25)),
        "old": plate_read_in(ward, cams[0], plate="51F-123.45", seen_at=T0 - dt.timedelta(days=3)),
    }
    return {"cameras": cams, "reads": reads}


def found(response: Any) -> set[int]:
    assert response.status_code == 200, response.json()
    return {row["id"] for row in response.json()["results"]}


def search(client: Any, **params: Any) -> Any:
    return client.get(URL, {**WINDOW, **params})


def test_exact_search_folds_separators_and_look_alikes(api: Any, ward_a: WardWorld, street: dict[str, Any]) -> None:
    r = street["reads"]
    client = api(ward_a.users["investigator"])
    assert found(search(client, plate="51f 12345")) == {r["exact"].pk, r["slip"].pk, r["third"].pk}
    assert found(search(client, plate="51F-123.45", match="exact")) == {r["exact"].pk, r["slip"].pk, r["third"].pk}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("51F-*", {"exact", "slip", "third", "neighbour"}),  # any run after the series
        ("*123.45", {"exact", "slip", "third"}),  # the end of the plate
        ("*7?.45", {"other_series"}),  # one character, after any run
        ("59-X1 2??.56", {"moto"}),  # ? for one character each, separators ignored
        ("*123.4?", {"exact", "slip", "third", "neighbour"}),
        ("F-123", {"exact", "slip", "third", "neighbour"}),  # no wildcard: anywhere in the plate
        ("51?-7*", {"other_series"}),  # any series letter
    ],
)
def test_partial_search_with_wildcards(
    api: Any, ward_a: WardWorld, street: dict[str, Any], pattern: str, expected: set[str]
) -> None:
    r = street["reads"]
    client = api(ward_a.users["investigator"])
    assert found(search(client, plate=pattern, match="partial")) == {r[name].pk for name in expected}


def test_fuzzy_search_finds_one_edit_away_after_folding(api: Any, ward_a: WardWorld, street: dict[str, Any]) -> None:
    r = street["reads"]
    client = api(ward_a.users["investigator"])
    same = {r["exact"].pk, r["slip"].pk, r["third"].pk}
    # OCR slips fold away (l→1, S→5), and one more character wrong is one edit: 6 for 5.
    assert found(search(client, plate="51F-l23.4S", match="fuzzy")) == same | {r["neighbour"].pk}
    assert found(search(client, plate="51F-l23.4S", match="exact")) == same
    # One character missing, one extra.
    assert same <= found(search(client, plate="51F-23.45", match="fuzzy"))
    assert same <= found(search(client, plate="51F-1233.45", match="fuzzy"))
    # Two edits away is no longer the plate.
    assert not found(search(client, plate="51F-999.45", match="fuzzy")) & same


def test_time_window_cameras_and_area_narrow_the_search(api: Any, ward_a: WardWorld, street: dict[str, Any]) -> None:
    r, cams = street["reads"], street["cameras"]
    client = api(ward_a.users["investigator"])
    window = {"since": at(11).isoformat(), "until": at(29).isoformat()}
    assert found(search(client, plate="51F-123.45", **window)) == {r["slip"].pk}
    old = {"since": (T0 - dt.timedelta(days=4)).isoformat(), "until": T0.isoformat()}
    assert found(search(client, plate="51F-123.45", **old)) == {r["old"].pk}
    assert found(search(client, plate="51F-123.45", cameras=f"{cams[0].code},{cams[2].pk}")) == {
        r["exact"].pk,
        r["third"].pk,
    }
    assert found(client.get(URL, {**WINDOW, "plate": "51F-123.45", "cameras": [cams[1].code]})) == {r["slip"].pk}
    # An area around the two eastern cameras (longitude 106.775 and 106.785).
    east = {
        "type": "Polygon",
        "coordinates": [[[106.77, 10.83], [106.79, 10.83], [106.79, 10.85], [106.77, 10.85], [106.77, 10.83]]],
    }
    assert found(search(client, plate="51F-123.45", area=json.dumps(east))) == {r["slip"].pk, r["third"].pk}


def test_results_grouped_by_plate(api: Any, ward_a: WardWorld, street: dict[str, Any]) -> None:
    client = api(ward_a.users["investigator"])
    data = search(client, plate="51F-*", match="partial", group="plate").json()
    groups = {g["text"]: g for g in data["groups"]}
    assert groups["51F-123.45"]["reads"] == 3 and groups["51F-123.45"]["cameras"] == 3
    assert groups["51F-123.46"]["reads"] == 1
    row = data["results"][0]
    assert {"camera_code", "seen_at", "crop", "confidence", "text"} <= set(row)


def test_other_wards_reads_never_appear(api: Any, ward_a: WardWorld, ward_b: WardWorld, street: dict[str, Any]) -> None:
    theirs = plate_read_in(ward_b.ward, plate="51F-123.45", seen_at=at(11))
    client = api(ward_a.users["investigator"])
    for match in ("exact", "partial", "fuzzy"):
        plate = "51F-*" if match == "partial" else "51F-123.45"
        assert theirs.pk not in found(search(client, plate=plate, match=match))
    route = client.get(ROUTE, {**WINDOW, "plate": "51F-123.45"}).json()
    assert theirs.pk not in {f["id"] for f in route["features"]}
    # Asking for ward B or its cameras is refused, naming the parameter.
    assert "ward" in search(client, plate="51F-123.45", ward=ward_b.ward.slug).json()
    camera_b = theirs.camera
    response = search(client, plate="51F-123.45", cameras=str(camera_b.pk))
    assert response.status_code == 400 and "cameras" in response.json()


def test_city_investigator_searches_own_wards_and_each_other_ward_is_audited(
    api: Any, ward_a: WardWorld, ward_b: WardWorld, city_user: Any, street: dict[str, Any]
) -> None:
    theirs = plate_read_in(ward_b.ward, plate="51F-123.45", seen_at=at(11))
    client = api(city_user)
    assert theirs.pk in found(search(client, plate="51F-123.45"))
    assert AuditEntry.objects.filter(actor=city_user, action="access_outside_home_ward", ward=ward_b.ward).exists()
    assert not AuditEntry.objects.filter(actor=city_user, action="access_outside_home_ward", ward=ward_a.ward).exists()
    only_a = found(search(client, plate="51F-123.45", ward=ward_a.ward.slug))
    assert theirs.pk not in only_a and street["reads"]["exact"].pk in only_a


def test_search_requires_reason_and_is_audited(api: Any, ward_a: WardWorld, street: dict[str, Any]) -> None:
    client = api(ward_a.users["investigator"])
    response = client.get(URL, {"plate": "51F-123.45", "since": WINDOW["since"], "until": WINDOW["until"]})
    assert response.status_code == 400 and "reason" in response.json()
    assert not AuditEntry.objects.filter(action="plate_search").exists()
    search(client, plate="51F-*", match="partial")
    entry = AuditEntry.objects.get(action="plate_search")
    assert entry.actor == ward_a.users["investigator"] and entry.reason == WINDOW["reason"]
    assert entry.detail["query"]["plate"] == "51F-*" and entry.detail["query"]["match"] == "partial"
    assert entry.detail["count"] == 4 and entry.ward_id == ward_a.ward.pk
    client.get(ROUTE, {**WINDOW, "plate": "51F-123.45"})
    route = AuditEntry.objects.get(action="plate_route")
    assert route.reason == WINDOW["reason"] and route.detail["count"] == 3


def test_search_is_for_investigators_and_admins(api: Any, ward_a: WardWorld, street: dict[str, Any]) -> None:
    for role in ("official", "operator"):
        assert search(api(ward_a.users[role]), plate="51F-123.45").status_code == 403, role
        assert api(ward_a.users[role]).get(ROUTE, {**WINDOW, "plate": "51F-123.45"}).status_code == 403, role
    assert search(api(ward_a.users["admin"]), plate="51F-123.45").status_code == 200
    assert api().get(ROUTE, {**WINDOW, "plate": "51F-123.45"}).status_code == 401


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"plate": "--"}, "plate"),
        ({"plate": "*.-"}, "plate"),
        ({"plate": "5*", "match": "partial"}, "plate"),  # would match everything
        ({"plate": "*1?", "match": "partial"}, "plate"),
        ({"plate": "51F-*"}, "plate"),  # wildcards in an exact search
        ({"plate": "51F-123.45", "match": "soundex"}, "match"),
        ({"plate": "51F-123.45", "since": "yesterday"}, "since"),
        ({"plate": "51F-123.45", "until": ""}, "until"),
        ({"plate": "51F-123.45", "since": WINDOW["until"], "until": WINDOW["since"]}, "until"),  # reversed
        ({"plate": "51F-123.45", "until": (T0 + dt.timedelta(days=400)).isoformat()}, "until"),  # too long
        ({"plate": "51F-123.45", "cameras": "NO-SUCH-CAMERA"}, "cameras"),
        ({"plate": "51F-123.45", "area": "{not json"}, "area"),
        ({"plate": "51F-123.45", "area": '{"type": "Point", "coordinates": [106.7, 10.8]}'}, "area"),
        (
            {
                "plate": "51F-123.45",
                "area": '{"type": "Polygon", "coordinates": [[[106.7, 10.8], [106.8, 10.8], [106.8, 10.9]]]}',
            },
            "area",
        ),  # does not close
        ({"cameras": "ST-0"}, "plate"),
    ],
)
def test_bad_search_is_a_clear_error(
    api: Any, ward_a: WardWorld, street: dict[str, Any], params: dict[str, str], field: str
) -> None:
    response = api(ward_a.users["investigator"]).get(URL, {**WINDOW, **params})
    assert response.status_code == 400, response.json()
    assert field in response.json() and response.json()[field][0]
    assert not AuditEntry.objects.filter(action="plate_search").exists()


def test_route_in_time_order_with_cameras_and_gaps(api: Any, ward_a: WardWorld, street: dict[str, Any]) -> None:
    r, cams = street["reads"], street["cameras"]
    response = api(ward_a.users["investigator"]).get(ROUTE, {**WINDOW, "plate": "51F-123.45"})
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["type"] == "FeatureCollection"
    points = [f for f in data["features"] if f["properties"]["kind"] == "sighting"]
    assert [p["id"] for p in points] == [r["exact"].pk, r["slip"].pk, r["third"].pk]
    assert [p["properties"]["camera_code"] for p in points] == [c.code for c in cams]
    assert points[0]["geometry"]["coordinates"] == pytest.approx([cams[0].location.x, cams[0].location.y])
    assert [p["properties"]["gap_s"] for p in points] == [None, 120.0, 1080.0]
    (path,) = [f for f in data["features"] if f["properties"]["kind"] == "path"]
    assert path["geometry"]["type"] == "LineString" and len(path["geometry"]["coordinates"]) == 3
    # Fuzzy routes take the plate one slip further; partial patterns are no route.
    fuzzy = api(ward_a.users["investigator"]).get(ROUTE, {**WINDOW, "plate": "52F-123.45", "match": "fuzzy"}).json()
    assert {f["id"] for f in fuzzy["features"] if f["id"]} == {r["exact"].pk, r["slip"].pk, r["third"].pk}
    bad = api(ward_a.users["investigator"]).get(ROUTE, {**WINDOW, "plate": "51F-*", "match": "partial"})
    assert bad.status_code == 400 and "match" in bad.json()
    no_reason = api(ward_a.users["investigator"]).get(
        ROUTE, {"plate": "51F-123.45", "since": WINDOW["since"], "until": WINDOW["until"]}
    )
    assert no_reason.status_code == 400 and "reason" in no_reason.json()


def test_search_page_for_investigators_only(client: Any, ward_a: WardWorld) -> None:
    client.force_login(ward_a.users["investigator"])
    page = client.get("/investigations/plates/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="plate-form"' in html and "plate-search.js" in html and "leaflet.draw.js" in html
    assert "/api/plate-route/" in html and "/api/plate-reads/add-to-case/" in html
    client.force_login(ward_a.users["operator"])
    assert client.get("/investigations/plates/").status_code == 403
    assert 'href="/investigations/plates/"' not in client.get("/").content.decode()


def test_large_results_are_counted_and_grouped_in_sql_alike(
    api: Any, ward_a: WardWorld, street: dict[str, Any], monkeypatch: Any
) -> None:
    from analytics.api import plates

    client = api(ward_a.users["investigator"])
    small = search(client, plate="51F-*", match="partial", group="plate", page_size=2).json()
    monkeypatch.setattr(plates, "SEARCH_SCAN", 1)  # more matches than one scan takes: the SQL path
    large = search(client, plate="51F-*", match="partial", group="plate", page_size=2).json()
    assert large["count"] == small["count"] == 4
    assert [r["id"] for r in large["results"]] == [r["id"] for r in small["results"]]
    assert large["groups"] == small["groups"]
