"""Hostile input: stream URLs that are not cameras, credentials that must never be shown, HTML/SQL in
text fields, malformed GeoJSON. Each is refused (or stored as plain text) with a clear error, never a 500.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from cameras.models import Camera
from portal.models import AuditEntry
from tests.base.factories import camera_in

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


ALLOWED = ("rtsp://", "rtsps://", "http://", "https://")

HOSTILE_URLS = [
    "file:///etc/passwd",
    "FILE:/etc/passwd",
    "concat:/etc/passwd|/etc/hosts",
    "subfile:,,start,0,end,0,,:/etc/passwd",
    "pipe:0",
    "data:text/plain;base64,SGVsbG8=",
    "ftp://10.0.0.1/stream",
    "gopher://10.0.0.1:70/_GET",
    "/etc/passwd",
    "rtsp:///stream1",
    "http://",
    "rtsp:/10.0.0.1/stream1",
    "rtsp://10.0.0.1:99999/stream1",
    "rtsp://10.0.0.1/a\x00b",
    "rtsp://10.0.0.1/a\rb",
    "rtsp://10.0.0.1/a\x1bb",
    "rtsp://10.0.0.1/a\x7fb",
    "rtsp://10.0.0.1/a\x9bb",
    "rtsp://10.0.0.1/\u202egnp.exe",
    "rtsp://10.0.0.1/a b",
]

USER, PASSWORD = "camuser7", "Pa55-w0rd-X9"
URL_WITH_CREDENTIALS = f"rtsp://{USER}:{PASSWORD}@10.0.0.7:554/Streaming/Channels/101"


def payload(ward: Any, **extra: Any) -> dict[str, Any]:
    c = ward.boundary.centroid
    return {
        "code": "SEC-1",
        "name": "Camera",
        "location": {"type": "Point", "coordinates": [c.x, c.y]},
        "status": "online",
    } | extra


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form_data(ward: Any, **extra: Any) -> dict[str, Any]:
    c = ward.boundary.centroid
    return {
        "code": "SEC-1",
        "name": "Camera",
        "address": "",
        "location": json.dumps({"type": "Point", "coordinates": [c.x, c.y]}),
        "heading": "90",
        "fov_angle": "90",
        "range_m": "50",
        "kind": "regular",
        "programme": "other",
        "status": "online",
        "main_stream_url": "",
        "sub_stream_url": "",
        "stream_username": "",
        "stream_password": "",
        "retention_days": "30",
        "analysis_fps": "5",
    } | extra


# -- stream URLs ---------------------------------------------------------------------------------


def test_api_refuses_non_camera_stream_urls(api: Any, ward_a: Any) -> None:
    client = api(ward_a.users["admin"])
    wrong = []
    for url in HOSTILE_URLS:
        for field in ("main_stream_url", "sub_stream_url"):
            response = client.post(reverse("api:camera-list"), payload(ward_a.ward, **{field: url}), format="json")
            message = str(response.json().get(field, [""])[0]) if response.status_code == 400 else ""
            # DRF's own null-character check speaks first for "\x00".
            if not message or ("\x00" not in url and not all(scheme in message for scheme in ALLOWED)):
                wrong.append((url, field, response.status_code, response.content[:300]))
    assert wrong == []
    assert not Camera.objects.exists()


def test_edit_page_refuses_non_camera_stream_urls(ward_a: Any) -> None:
    client = signed_in(ward_a.users["admin"])
    wrong = []
    for url in HOSTILE_URLS:
        response = client.post(reverse("camera-create"), form_data(ward_a.ward, main_stream_url=url))
        message = response.context["form"].errors.get("main_stream_url", [""])[0] if response.status_code == 200 else ""
        # Django's own null-character check speaks first for "\x00".
        if not message or ("\x00" not in url and not all(scheme in message for scheme in ALLOWED)):
            wrong.append((url, response.status_code, message))
    assert wrong == []
    assert not Camera.objects.exists()


def test_api_refuses_hostile_url_on_update(api: Any, ward_a: Any) -> None:
    camera = camera_in(ward_a.ward, main_stream_url="rtsp://10.0.0.1/s1")
    url = reverse("api:camera-detail", args=[camera.pk])
    response = api(ward_a.users["admin"]).patch(url, {"main_stream_url": "concat:/etc/passwd"}, format="json")
    assert response.status_code == 400 and "main_stream_url" in response.json()
    camera.refresh_from_db()
    assert camera.main_stream_url == "rtsp://10.0.0.1/s1"


@pytest.mark.parametrize(
    "url,clean",
    [
        ("rtsp://10.0.0.1:554/stream1", "rtsp://10.0.0.1:554/stream1"),
        ("RTSP://Cam.Example.vn/live?channel=1", "rtsp://cam.example.vn/live?channel=1"),
        ("rtsps://[fe80::1]:322/s", "rtsps://[fe80::1]:322/s"),
        ("https://10.0.0.2/snapshot.jpg", "https://10.0.0.2/snapshot.jpg"),
    ],
)
def test_camera_urls_are_accepted(url: str, clean: str, api: Any, ward_a: Any) -> None:
    response = api(ward_a.users["admin"]).post(
        reverse("api:camera-list"), payload(ward_a.ward, main_stream_url=url), format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["main_stream_url"] == clean


# -- credentials ---------------------------------------------------------------------------------


def assert_no_credentials(text: str, where: str) -> None:
    assert USER not in text, f"username shown in {where}"
    assert PASSWORD not in text, f"password shown in {where}"


def test_credentials_in_url_are_moved_encrypted_and_never_shown(api: Any, ward_a: Any) -> None:
    client = api(ward_a.users["admin"])
    response = client.post(
        reverse("api:camera-list"),
        payload(ward_a.ward, main_stream_url=URL_WITH_CREDENTIALS, sub_stream_url=URL_WITH_CREDENTIALS.replace("101", "102")),
        format="json",
    )
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["main_stream_url"] == "rtsp://10.0.0.7:554/Streaming/Channels/101"
    assert created["sub_stream_url"] == "rtsp://10.0.0.7:554/Streaming/Channels/102"
    assert created["has_stream_credentials"] is True
    assert "stream_password" not in created and "stream_username" not in created
    camera = Camera.objects.get(pk=created["id"])
    assert (camera.stream_username, camera.stream_password) == (USER, PASSWORD)

    # The database holds ciphertext only.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT stream_username, stream_password, main_stream_url, sub_stream_url FROM {Camera._meta.db_table} WHERE id = %s",  # noqa: S608
            [camera.pk],
        )
        raw = cursor.fetchone()
    assert raw[0].startswith("gAAAA") and raw[1].startswith("gAAAA")
    assert_no_credentials(" ".join(raw), "the database row")

    # No API response shows them.
    official = api(ward_a.users["official"])
    for url in [
        reverse("api:camera-list"),
        reverse("api:camera-list") + "?format=geojson",
        reverse("api:camera-list") + "?format=geojson&geometry=fov",
        reverse("api:camera-detail", args=[camera.pk]),
        reverse("api:camera-detail", args=[camera.pk]) + "?format=geojson",
    ]:
        for who in (official, client):
            got = who.get(url)
            assert got.status_code == 200, (url, got.content)
            assert_no_credentials(got.content.decode(), url)
    # Nor any page, nor the audit log.
    page = signed_in(ward_a.users["admin"])
    for url in [reverse("camera-list"), reverse("camera-detail", args=[camera.pk]), reverse("camera-edit", args=[camera.pk])]:
        got = page.get(url)
        assert got.status_code == 200, url
        assert_no_credentials(got.content.decode(), url)
    for entry in AuditEntry.objects.all():
        assert_no_credentials(json.dumps([entry.object_repr, entry.detail, entry.reason]), "the audit log")


def test_write_only_credentials_and_blank_keeps_them_on_the_edit_page(api: Any, ward_a: Any) -> None:
    response = api(ward_a.users["admin"]).post(
        reverse("api:camera-list"),
        payload(ward_a.ward, main_stream_url="rtsp://10.0.0.7/s", stream_username=USER, stream_password=PASSWORD),
        format="json",
    )
    assert response.status_code == 201
    assert_no_credentials(response.content.decode(), "the create response")
    camera = Camera.objects.get(pk=response.json()["id"])
    page = signed_in(ward_a.users["admin"])
    edit = reverse("camera-edit", args=[camera.pk])
    assert_no_credentials(page.get(edit).content.decode(), "the edit page")
    saved = page.post(edit, form_data(ward_a.ward, main_stream_url="rtsp://10.0.0.7/s", name="Renamed"))
    assert saved.status_code == 302, saved.context["form"].errors if saved.context else saved
    camera.refresh_from_db()
    assert camera.name == "Renamed" and (camera.stream_username, camera.stream_password) == (USER, PASSWORD)


def test_edit_page_moves_credentials_out_of_the_url(ward_a: Any) -> None:
    page = signed_in(ward_a.users["admin"])
    response = page.post(reverse("camera-create"), form_data(ward_a.ward, main_stream_url=URL_WITH_CREDENTIALS))
    assert response.status_code == 302
    camera = Camera.objects.get()
    assert camera.main_stream_url == "rtsp://10.0.0.7:554/Streaming/Channels/101"
    assert (camera.stream_username, camera.stream_password) == (USER, PASSWORD)
    assert_no_credentials(page.get(response["Location"]).content.decode(), "the detail page")


# -- HTML and SQL in text fields -----------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
SQL = "'; DROP TABLE cameras_camera; --"


def test_html_and_sql_are_stored_as_text_and_escaped(api: Any, ward_a: Any) -> None:
    client = api(ward_a.users["admin"])
    response = client.post(
        reverse("api:camera-list"), payload(ward_a.ward, name=SCRIPT, address=SQL, code="X<b>1"), format="json"
    )
    assert response.status_code == 201, response.json()
    camera = Camera.objects.get()
    assert (camera.name, camera.address, camera.code) == (SCRIPT, SQL, "X<b>1")
    # Search with the same text finds it, and the table is still there.
    found = client.get(reverse("api:camera-list"), {"q": SQL}).json()
    assert [row["id"] for row in found["results"]] == [camera.pk]
    assert client.get(reverse("api:camera-list"), {"q": "' OR 1=1 --"}).json()["count"] == 0
    layer = client.get(reverse("api:camera-list") + "?format=geojson").json()
    assert layer["features"][0]["properties"]["name"] == SCRIPT
    page = signed_in(ward_a.users["admin"])
    for url in [
        reverse("camera-detail", args=[camera.pk]),
        reverse("camera-list"),
        reverse("camera-list") + "?q=" + "%27%3B%20DROP",
        reverse("camera-edit", args=[camera.pk]),
    ]:
        body = page.get(url).content.decode()
        assert SCRIPT not in body and "X<b>1" not in body, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body, url
    assert Camera.objects.count() == 1


def test_import_page_escapes_what_it_echoes(settings: Any, tmp_path: Any, ward_a: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.VAR_DIR = tmp_path
    data = f"code,name,longitude,latitude,status\nC1,x,106.78,10.84,{SCRIPT}\n".encode()
    response = signed_in(ward_a.users["admin"]).post(
        reverse("camera-import"), {"file": SimpleUploadedFile("x.csv", data), "ward": ward_a.ward.pk}
    )
    body = response.content.decode()
    assert response.status_code == 200 and SCRIPT not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


# -- malformed GeoJSON ---------------------------------------------------------------------------

BAD_LOCATIONS = [
    "not json",
    '{"type": "Point", "coordinates": [106.78, 10.84]',
    42,
    [106.78, 10.84],
    {"coordinates": [106.78, 10.84]},
    {"type": "Polygon", "coordinates": [[[106.77, 10.83], [106.79, 10.83], [106.79, 10.85], [106.77, 10.83]]]},
    {"type": "GeometryCollection", "geometries": []},
    {"type": "Feature", "geometry": {"type": "Point", "coordinates": [106.78, 10.84]}},
    {"type": "Point", "coordinates": [106.78, 10.84], "crs": {"type": "name", "properties": {"name": "EPSG:32648"}}},
    {"type": "Point", "coordinates": [106.78, 10.84], "crs": {"type": "link", "properties": {"href": "file:///etc/passwd"}}},
    {"type": "Point", "coordinates": [200, 95]},
    {"type": "Point", "coordinates": [1e308, -1e308]},
    {"type": "Point", "coordinates": [10.84, 106.78]},
    {"type": "Point", "coordinates": [2.35, 48.85]},
    {"type": "Point", "coordinates": []},
    {"type": "Point", "coordinates": [106.78]},
    {"type": "Point", "coordinates": "106.78,10.84"},
    {"type": "Point", "coordinates": ["106.78", "10.84"]},
    {"type": "Point", "coordinates": [[106.78, 10.84]]},
    {"type": "Point", "coordinates": None},
    {"type": "Point", "coordinates": [106.78, 10.84, 5]},
    {"type": "Point"},
]


def test_api_refuses_malformed_camera_location(api: Any, ward_a: Any) -> None:
    client = api(ward_a.users["admin"])
    wrong = []
    for location in BAD_LOCATIONS:
        response = client.post(reverse("api:camera-list"), payload(ward_a.ward, location=location), format="json")
        if response.status_code != 400 or "location" not in response.json():
            wrong.append((location, response.status_code, response.content[:300]))
    assert wrong == []
    assert not Camera.objects.exists()


def test_api_accepts_geometry_given_as_a_json_string(api: Any, ward_a: Any) -> None:
    location = json.dumps({"type": "Point", "coordinates": [106.78, 10.84]})
    response = api(ward_a.users["admin"]).post(reverse("api:camera-list"), payload(ward_a.ward, location=location), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["location"]["coordinates"] == pytest.approx([106.78, 10.84])


BAD_BOUNDARIES = [
    {"type": "Polygon", "coordinates": [[[106.77, 10.83], [106.79, 10.83], [106.79, 10.85]]]},  # not closed
    {
        "type": "Polygon",
        "coordinates": [[[106.77, 10.83], [106.79, 10.85], [106.79, 10.83], [106.77, 10.85], [106.77, 10.83]]],
    },
    {"type": "Point", "coordinates": [106.78, 10.84]},
    {"type": "Polygon", "coordinates": [[[106.77, 10.83]]]},
    {"type": "Polygon", "coordinates": "[[[1, 2]]]"},
    {"type": "Polygon", "coordinates": []},
    {"type": "MultiPolygon", "coordinates": [[[["a", "b"], [1, 2], [3, 4], ["a", "b"]]]]},
    "POLYGON((106.77 10.83, 106.79 10.83, 106.79 10.85, 106.77 10.83))",
]


def test_api_refuses_malformed_old_ward_boundary(api: Any, ward_a: Any) -> None:
    client = api(ward_a.users["admin"])
    wrong = []
    for boundary in BAD_BOUNDARIES:
        response = client.post(reverse("api:oldward-list"), {"name": "Drawn", "boundary": boundary}, format="json")
        if response.status_code != 400 or "boundary" not in response.json():
            wrong.append((boundary, response.status_code, response.content[:300]))
    assert wrong == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("{", id="truncated"),
        pytest.param("\xff\xfe", id="not-utf8"),
        pytest.param("[" * 50_000 + "]" * 50_000, id="deep-list"),
        pytest.param('{"location": ' + "[" * 50_000 + "]" * 50_000 + "}", id="deep-location"),
    ],
)
def test_api_refuses_unparseable_bodies(body: str, api: Any, ward_a: Any) -> None:
    data = body.encode("latin-1")
    response = api(ward_a.users["admin"]).generic("POST", reverse("api:camera-list"), data, content_type="application/json")
    assert response.status_code == 400, response.content[:200]
    assert not Camera.objects.exists()


BAD_FORM_LOCATIONS = [
    "garbage",
    "POINT EMPTY",
    "POINT(nan nan)",
    "POINT(106.78 10.84 5)",
    "LINESTRING(106.78 10.84, 106.79 10.85)",
    "POINT(200 95)",
    "POINT(10.84 106.78)",
    json.dumps({"type": "Point", "coordinates": "x"}),
    json.dumps({"type": "Polygon", "coordinates": [[[106.77, 10.83], [106.79, 10.83], [106.79, 10.85], [106.77, 10.83]]]}),
]


def test_edit_page_refuses_malformed_location(ward_a: Any) -> None:
    client = signed_in(ward_a.users["admin"])
    wrong = []
    for location in BAD_FORM_LOCATIONS:
        response = client.post(reverse("camera-create"), form_data(ward_a.ward, location=location))
        if response.status_code != 200 or "location" not in response.context["form"].errors:
            wrong.append((location, response.status_code))
    assert wrong == []
    assert not Camera.objects.exists()


def test_edit_page_refuses_external_crs(ward_a: Any) -> None:
    location = {"type": "Point", "coordinates": [106.78, 10.84], "crs": {"type": "name", "properties": {"name": "/etc/passwd"}}}
    response = signed_in(ward_a.users["admin"]).post(
        reverse("camera-create"), form_data(ward_a.ward, location=json.dumps(location))
    )
    assert response.status_code == 400  # Django's guard against GDAL opening files named in a CRS
    assert not Camera.objects.exists()


def test_credentials_typed_into_a_url_replace_the_stored_ones(api: Any, ward_a: Any) -> None:
    from tests.base.factories import camera_in

    camera = camera_in(ward_a.ward, code="CRED-1", stream_username="old", stream_password="old-secret")
    response = api(ward_a.users["admin"]).patch(
        reverse("api:camera-detail", args=[camera.pk]), {"main_stream_url": "rtsp://new:n3w-secret@10.0.0.9/ch1"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert "n3w-secret" not in response.content.decode()
    camera.refresh_from_db()
    assert (camera.stream_username, camera.stream_password) == ("new", "n3w-secret")
    assert camera.main_stream_url == "rtsp://10.0.0.9/ch1"


def test_edit_page_with_errors_does_not_echo_url_credentials(ward_a: Any) -> None:
    client = Client()
    client.force_login(ward_a.users["admin"])
    c = ward_a.ward.boundary.centroid
    page = client.post(
        "/cameras/new/",
        {
            "code": "",
            "name": "No code",
            "location": f'{{"type": "Point", "coordinates": [{c.x}, {c.y}]}}',
            "heading": "0",
            "fov_angle": "90",
            "range_m": "50",
            "kind": "regular",
            "programme": "other",
            "status": "online",
            "retention_days": "30",
            "analysis_fps": "5",
            "main_stream_url": "rtsp://cam:Echo-Secret-9@10.0.0.7/ch1",
        },
    )
    assert page.status_code == 200 and page.context["form"].errors
    html = page.content.decode()
    assert "Echo-Secret-9" not in html and "rtsp://10.0.0.7/ch1" in html
