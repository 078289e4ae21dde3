"""Operations room and live wall pages: who may open them, what they are given, the live frame view."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.base.factories import camera_in

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    (tmp_path / "media" / "live").mkdir(parents=True)
    return tmp_path / "media"


@pytest.mark.parametrize("url", ["/ops/", "/wall/"])
def test_pages_need_sign_in(ward_a: Any, url: str) -> None:
    response = Client().get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("url", ["/ops/", "/wall/"])
def test_officers_open_the_pages_and_officials_are_refused(ward_a: Any, url: str) -> None:
    for role in ("operator", "investigator", "admin"):
        assert logged_in(ward_a.users[role]).get(url).status_code == 200, role
    assert logged_in(ward_a.users["official"]).get(url).status_code == 403


def test_nav_links_only_for_officers(ward_a: Any) -> None:
    operator_page = logged_in(ward_a.users["operator"]).get("/").content.decode()
    assert 'href="/ops/"' in operator_page and 'href="/wall/"' in operator_page
    official_page = logged_in(ward_a.users["official"]).get("/").content.decode()
    assert 'href="/ops/"' not in official_page and 'href="/wall/"' not in official_page


def test_ops_page_is_given_its_ward_only(ward_a: Any, ward_b: Any) -> None:
    page = logged_in(ward_a.users["operator"]).get("/ops/")
    config = page.context["ops_config"]
    ward_id = ward_a.ward.pk
    assert config["socket"] == f"/ws/alerts/?ward={ward_id}"
    assert config["cameras"].startswith("/api/cameras/") and f"ward={ward_id}" in config["cameras"]
    assert "format=geojson" in config["cameras"]
    assert config["alertAction"].replace("%(action)s", "dismiss") == "/api/alerts/0/dismiss/"
    # Assignable: the ward's operators, investigators and admins; never officials, never the other ward.
    assert [o["username"] for o in config["officers"]] == ["admin.a", "investigator.a", "operator.a"]
    # Labels reach the script translated, inside a JSON script element.
    html = page.content.decode()
    assert '<script id="ops-config" type="application/json">' in html
    assert config["choices"]["status"]["dismissed"]


def test_wall_page_config(ward_a: Any) -> None:
    config = logged_in(ward_a.users["investigator"]).get("/wall/").context["wall_config"]
    assert config["pageSizes"] == [4, 9, 16]
    assert config["liveImage"] == "/cameras/0/live.jpg"
    assert f"ward={ward_a.ward.pk}" in config["recentAlerts"]


def test_ward_switch_decides_the_page_ward(ward_a: Any, ward_b: Any, city_user: Any) -> None:
    client = logged_in(city_user)
    assert client.get("/ops/").context["ward"] == ward_a.ward
    client.post("/ward/switch/", {"ward": ward_b.ward.pk})
    assert client.get("/ops/").context["ward"] == ward_b.ward


def test_live_image_is_served_with_no_store(ward_a: Any, media: Path) -> None:
    camera = camera_in(ward_a.ward, code="LIVE-1")
    (media / "live" / f"{camera.pk}.jpg").write_bytes(JPEG)
    response = logged_in(ward_a.users["operator"]).get(f"/cameras/{camera.pk}/live.jpg")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "no-store"
    assert "Last-Modified" in response
    assert response.content == JPEG


def test_live_image_missing_is_404(ward_a: Any, media: Path) -> None:
    camera = camera_in(ward_a.ward, code="LIVE-2")
    assert logged_in(ward_a.users["operator"]).get(f"/cameras/{camera.pk}/live.jpg").status_code == 404


def test_live_image_of_another_ward_is_404(ward_a: Any, ward_b: Any, media: Path) -> None:
    theirs = camera_in(ward_b.ward, code="LIVE-B")
    (media / "live" / f"{theirs.pk}.jpg").write_bytes(JPEG)
    assert logged_in(ward_a.users["operator"]).get(f"/cameras/{theirs.pk}/live.jpg").status_code == 404
    assert logged_in(ward_b.users["operator"]).get(f"/cameras/{theirs.pk}/live.jpg").status_code == 200


def test_live_image_is_for_officers_not_officials(ward_a: Any, media: Path) -> None:
    camera = camera_in(ward_a.ward, code="LIVE-3")
    (media / "live" / f"{camera.pk}.jpg").write_bytes(JPEG)
    assert logged_in(ward_a.users["official"]).get(f"/cameras/{camera.pk}/live.jpg").status_code == 404
    response = Client().get(f"/cameras/{camera.pk}/live.jpg")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
