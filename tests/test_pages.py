"""Server-rendered pages: sign-in, dashboard, map shell, camera pages, ward switch; one ward per view."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from cameras.models import Camera
from portal.models import AuditEntry
from tests.base.factories import UserFactory, camera_in

pytestmark = pytest.mark.django_db


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_pages_need_sign_in(ward_a: Any) -> None:
    for url in ("/", "/map/", "/cameras/", "/cameras/new/", "/cameras/import/"):
        response = Client().get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


def test_sign_in_page_is_vietnamese_by_default_and_signs_in(ward_a: Any) -> None:
    client = Client()
    page = client.get("/accounts/login/")
    assert '<html lang="vi">' in page.content.decode()
    response = client.post("/accounts/login/", {"username": "official.a", "password": "pw-for-tests-1"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    bad = Client().post("/accounts/login/", {"username": "official.a", "password": "wrong"})
    assert bad.status_code == 200 and 'class="error"' in bad.content.decode()


def test_dashboard_counts_own_ward_only(ward_a: Any, ward_b: Any) -> None:
    camera_in(ward_a.ward, code="A-1", status=Camera.Status.ONLINE)
    camera_in(ward_a.ward, code="A-2", status=Camera.Status.OFFLINE)
    camera_in(ward_b.ward, code="B-1")
    page = logged_in(ward_a.users["official"]).get("/")
    assert page.status_code == 200
    html = page.content.decode()
    assert ward_a.ward.name in html and ward_b.ward.name not in html
    assert page.context["total"] == 2
    by_status = {row["value"]: row["count"] for row in page.context["by_status"]}
    assert by_status["online"] == 1 and by_status["offline"] == 1
    assert {a.name for a in page.context["coverage"].old_wards} == {"A north", "A south"}
    assert page.context["coverage"].ward.share > 0


def test_map_page_loads_layers_of_current_ward_by_url(ward_a: Any, ward_b: Any) -> None:
    page = logged_in(ward_a.users["official"]).get("/map/")
    assert page.status_code == 200
    config = page.context["map_config"]
    assert config["cameras"].startswith("/api/cameras/") and f"ward={ward_a.ward.pk}" in config["cameras"]
    assert "format=geojson" in config["sectors"] and "geometry=fov" in config["sectors"]
    assert f"/api/wards/{ward_a.ward.pk}/" in config["ward"]


def test_camera_pages_hide_other_ward(ward_a: Any, ward_b: Any) -> None:
    mine = camera_in(ward_a.ward, code="A-1", name="Cổng chợ A")
    theirs = camera_in(ward_b.ward, code="B-1", name="Cổng chợ B")
    client = logged_in(ward_a.users["official"])
    listing = client.get("/cameras/").content.decode()
    assert "Cổng chợ A" in listing and "Cổng chợ B" not in listing
    assert client.get(f"/cameras/{mine.pk}/").status_code == 200
    assert client.get(f"/cameras/{theirs.pk}/").status_code == 404
    assert client.get(f"/cameras/{theirs.pk}/edit/").status_code == 404


def test_camera_list_filters(ward_a: Any) -> None:
    camera_in(ward_a.ward, code="A-ON", status=Camera.Status.ONLINE)
    camera_in(ward_a.ward, code="A-OFF", status=Camera.Status.OFFLINE)
    client = logged_in(ward_a.users["official"])
    page = client.get("/cameras/?status=offline")
    codes = [c.code for c in page.context["page"]]
    assert codes == ["A-OFF"]
    assert [c.code for c in client.get("/cameras/?q=A-ON").context["page"]] == ["A-ON"]


def test_only_admins_register_and_edit_cameras(ward_a: Any) -> None:
    camera = camera_in(ward_a.ward, code="A-1")
    for role in ("official", "operator", "investigator"):
        client = logged_in(ward_a.users[role])
        assert client.get("/cameras/new/").status_code == 403, role
        assert client.get(f"/cameras/{camera.pk}/edit/").status_code == 403, role
        assert client.get("/cameras/import/").status_code == 403, role
    assert logged_in(ward_a.users["admin"]).get("/cameras/new/").status_code == 200


def form_data(ward: Any, **overrides: Any) -> dict[str, Any]:
    c = ward.boundary.centroid
    data = {
        "code": "NEW-1",
        "name": "Camera mới",
        "address": "1 Lê Văn Việt",
        "location": f'{{"type": "Point", "coordinates": [{c.x}, {c.y + 0.005}]}}',
        "heading": "90",
        "fov_angle": "90",
        "range_m": "50",
        "kind": "regular",
        "programme": "old_ward",
        "status": "online",
        "retention_days": "30",
        "analysis_fps": "5",
        "main_stream_url": "rtsp://10.0.0.5:554/ch1",
        "sub_stream_url": "",
        "stream_username": "",
        "stream_password": "",
    }
    data.update(overrides)
    return data


def test_admin_registers_a_camera_and_old_ward_is_derived(ward_a: Any) -> None:
    client = logged_in(ward_a.users["admin"])
    response = client.post("/cameras/new/", form_data(ward_a.ward))
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    camera = Camera.objects.get(ward=ward_a.ward, code="NEW-1")
    assert camera.old_ward is not None and camera.old_ward.name == "A north"
    assert camera.fov.contains(camera.location) or camera.fov.touches(camera.location)
    assert AuditEntry.objects.filter(action="camera_created", object_id=str(camera.pk)).exists()


def test_edit_keeps_stored_password_when_left_blank(ward_a: Any) -> None:
    camera = camera_in(ward_a.ward, code="A-1", stream_username="cam", stream_password="s3cret-pass")
    client = logged_in(ward_a.users["admin"])
    page = client.get(f"/cameras/{camera.pk}/edit/").content.decode()
    assert "s3cret-pass" not in page
    response = client.post(f"/cameras/{camera.pk}/edit/", form_data(ward_a.ward, code="A-1", name="Renamed"))
    assert response.status_code == 302
    camera.refresh_from_db()
    assert camera.name == "Renamed" and camera.stream_password == "s3cret-pass" and camera.stream_username == "cam"


def test_edit_form_reports_bad_position_and_duplicate_code(ward_a: Any) -> None:
    camera_in(ward_a.ward, code="TAKEN")
    client = logged_in(ward_a.users["admin"])
    swapped = form_data(ward_a.ward, location='{"type": "Point", "coordinates": [10.84, 106.78]}')
    page = client.post("/cameras/new/", swapped)
    assert page.status_code == 200 and "location" in page.context["form"].errors
    duplicate = client.post("/cameras/new/", form_data(ward_a.ward, code="TAKEN"))
    assert duplicate.status_code == 200 and duplicate.context["form"].errors
    assert Camera.objects.filter(ward=ward_a.ward).count() == 1


def test_city_user_switches_ward_and_it_is_audited(ward_a: Any, ward_b: Any, city_user: Any) -> None:
    client = logged_in(city_user)
    assert client.get("/").context["ward"] == ward_a.ward
    response = client.post("/ward/switch/", {"ward": ward_b.ward.pk, "next": "/cameras/"})
    assert response.status_code == 302 and response["Location"] == "/cameras/"
    assert client.get("/").context["ward"] == ward_b.ward
    assert AuditEntry.objects.filter(actor=city_user, action="ward_switched", ward=ward_b.ward).exists()
    assert AuditEntry.objects.filter(actor=city_user, action="access_outside_home_ward", ward=ward_b.ward).exists()


def test_switch_to_a_ward_not_mine_is_refused(ward_a: Any, ward_b: Any) -> None:
    client = logged_in(ward_a.users["official"])
    assert client.post("/ward/switch/", {"ward": ward_b.ward.pk}).status_code == 400
    assert client.get("/").context["ward"] == ward_a.ward


def test_switch_does_not_redirect_off_site(ward_a: Any, city_user: Any) -> None:
    response = logged_in(city_user).post("/ward/switch/", {"ward": ward_a.ward.pk, "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/"


def test_user_without_ward_gets_a_clear_refusal(db: Any) -> None:
    page = logged_in(UserFactory(username="nobody")).get("/")
    assert page.status_code == 403


def test_pages_ignore_browser_language_until_the_switch_is_used(ward_a: Any) -> None:
    client = logged_in(ward_a.users["official"])
    assert '<html lang="vi">' in client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    # API clients may still ask for English messages.
    response = client.get("/api/cameras/?status=bogus", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "not one of the available choices" in str(response.json())


def test_english_switch(ward_a: Any) -> None:
    client = logged_in(ward_a.users["official"])
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert '<html lang="en">' in client.get("/").content.decode()
    client.post("/i18n/setlang/", {"language": "vi", "next": "/"})
    assert '<html lang="vi">' in client.get("/").content.decode()


def test_api_docs_and_schema_are_served(ward_a: Any) -> None:
    client = logged_in(ward_a.users["official"])
    schema = client.get("/api/schema/?format=json").json()
    paths = set(schema["paths"])
    for path in ("/api/cameras/", "/api/wards/{id}/coverage/", "/api/auth/token/", "/api/me/", "/api/camera-imports/"):
        assert path in paths
    # Credentials are write-only in the documented camera read model.
    assert "stream_password" not in schema["components"]["schemas"]["Camera"]["properties"]
    docs = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in docs and "cdn" not in docs.lower()


def test_django_admin_has_map_widgets(ward_a: Any) -> None:
    from django.contrib.auth import get_user_model

    camera = camera_in(ward_a.ward, code="ADM-1", stream_password="admin-hidden-pw")
    root = get_user_model().objects.create_superuser("root", password="root-pass-123")
    client = logged_in(root)
    for url in (f"/admin/cameras/camera/{camera.pk}/change/", f"/admin/portal/ward/{ward_a.ward.pk}/change/"):
        page = client.get(url)
        assert page.status_code == 200, url
        assert "leaflet" in page.content.decode().lower(), url
    assert "admin-hidden-pw" not in client.get(f"/admin/cameras/camera/{camera.pk}/change/").content.decode()
    assert client.get("/admin/portal/auditentry/").status_code == 200
