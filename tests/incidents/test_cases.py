"""Case files: numbers per ward and year, the status workflow, the API and who may use it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from analytics.services import escalate, raise_alert
from incidents import services
from incidents.models import Incident, allocate_number
from portal.models import AuditEntry
from tests.base.factories import camera_in

pytestmark = pytest.mark.django_db

YEAR = timezone.localtime().year


def new_case(world: Any, **kwargs: Any) -> Incident:
    return services.create_case(
        ward=world.ward,
        actor=world.users["investigator"],
        title=kwargs.pop("title", "A case"),
        occurred_at=kwargs.pop("occurred_at", timezone.now()),
        **kwargs,
    )


def test_numbers_count_per_ward_and_year(ward_a: Any, ward_b: Any) -> None:
    assert [new_case(ward_a).number for _ in range(3)] == [f"WA-{YEAR}-0001", f"WA-{YEAR}-0002", f"WA-{YEAR}-0003"]
    assert new_case(ward_b).number == f"WB-{YEAR}-0001"
    # A new year starts again at 1; the old year's count goes on where it was.
    assert allocate_number(ward=ward_a.ward, year=YEAR + 1) == f"WA-{YEAR + 1}-0001"
    assert allocate_number(ward=ward_a.ward, year=YEAR) == f"WA-{YEAR}-0004"


def test_escalated_alert_becomes_a_numbered_draft(ward_a: Any) -> None:
    camera = camera_in(ward_a.ward, code="ESC-1")
    alert, _event = raise_alert(camera=camera, type="manual", note="bag snatched")
    alert = escalate(alert=alert, actor=ward_a.users["operator"], note="Send to investigators")
    case = alert.incident
    assert case.status == "draft" and case.number == f"WA-{YEAR}-0001"
    assert new_case(ward_a).number == f"WA-{YEAR}-0002"


def test_status_workflow(ward_a: Any, english: Any) -> None:
    user = ward_a.users["investigator"]
    case = new_case(ward_a, status="draft")
    with pytest.raises(services.ValidationError) as err:
        services.change_status(case=case, status="investigating", actor=user)
    assert "cannot become Investigating" in str(err.value.message_dict["status"])
    for status in ("open", "investigating"):
        case = services.change_status(case=case, status=status, actor=user)
    with pytest.raises(services.ValidationError) as err:
        services.change_status(case=case, status="closed", actor=user)
    assert "note" in err.value.message_dict
    case = services.change_status(case=case, status="closed", actor=user, note="Solved.")
    assert case.status == "closed" and case.closing_note == "Solved." and case.closed_at
    # Closed cases take no new facts or evidence until reopened.
    with pytest.raises(services.ValidationError):
        services.update_case(case=case, actor=user, title="Changed")
    case = services.change_status(case=case, status="investigating", actor=user, note="New witness.")
    case = services.change_status(case=case, status="referred", actor=user, note="District police.")
    with pytest.raises(services.ValidationError):
        services.change_status(case=case, status="open", actor=user)
    steps = list(case.custody.order_by("seq").values_list("detail", flat=True))
    assert [d["to"] for d in steps] == ["open", "investigating", "closed", "investigating", "referred"]


def test_location_outside_the_ward_and_foreign_investigators_are_refused(ward_a: Any, ward_b: Any) -> None:
    from django.contrib.gis.geos import Point

    c = ward_b.ward.boundary.centroid
    with pytest.raises(services.ValidationError) as err:
        new_case(ward_a, location=Point(c.x, c.y, srid=4326))
    assert "location" in err.value.message_dict
    with pytest.raises(services.ValidationError) as err:
        new_case(ward_a, investigators=[ward_b.users["investigator"], ward_a.users["operator"]])
    assert "investigator.b" in str(err.value.message_dict["investigators"])
    assert not Incident.objects.exists()


def test_api_create_filter_and_move(api: Any, ward_a: Any, ward_b: Any) -> None:
    client = api(ward_a.users["investigator"])
    centre = ward_a.ward.boundary.centroid
    cam = camera_in(ward_a.ward, code="API-1")
    response = client.post(
        "/api/cases/",
        {
            "title": "Fight outside the school",
            "type": "fight",
            "occurred_at": "2026-03-02T17:00:00+07:00",
            "location": {"type": "Point", "coordinates": [centre.x, centre.y]},
            "cameras": [cam.pk],
            "investigators": ["investigator.a"],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["number"] == f"WA-{YEAR}-0001" and created["status"] == "open" and created["type"] == "fight"
    assert created["cameras"] == [cam.pk] and created["investigators"] == ["investigator.a"]
    new_case(ward_a, title="Another", type="traffic_accident")
    new_case(ward_b, title="Theirs", type="fight")
    assert [c["title"] for c in client.get("/api/cases/?type=fight").json()["results"]] == ["Fight outside the school"]
    assert client.get(f"/api/cases/?number=WA-{YEAR}-0002").json()["count"] == 1
    url = f"/api/cases/{created['id']}/"
    assert client.patch(url, {"status": "closed"}, format="json").status_code == 400  # only through …/status/
    refused = client.post(url + "status/", {"status": "closed"}, format="json")
    assert refused.status_code == 400 and "note" in refused.json()
    moved = client.post(url + "status/", {"status": "investigating"}, format="json")
    assert moved.status_code == 200 and moved.json()["status"] == "investigating"
    assert client.get("/api/cases/?status=investigating").json()["count"] == 1
    # Operators read cases but do not move them; officials see none.
    assert api(ward_a.users["operator"]).get(url).status_code == 200
    assert api(ward_a.users["operator"]).post(url + "status/", {"status": "open"}, format="json").status_code == 403
    assert api(ward_a.users["official"]).get(url).status_code == 404
    assert api(ward_b.users["admin"]).post(url + "status/", {"status": "open"}, format="json").status_code == 404
    assert AuditEntry.objects.filter(action="case_status_changed", object_id=str(created["id"])).count() == 1


def test_api_link_refuses_other_wards_objects(api: Any, ward_a: Any, ward_b: Any) -> None:
    case = new_case(ward_a)
    mine = camera_in(ward_a.ward, code="L-A")
    theirs = camera_in(ward_b.ward, code="L-B")
    client = api(ward_a.users["investigator"])
    response = client.post(f"/api/cases/{case.pk}/link/", {"cameras": [theirs.pk]}, format="json")
    assert response.status_code == 400 and "cameras" in response.json()
    alert, _ = raise_alert(camera=mine, type="manual", note="x")
    response = client.post(f"/api/cases/{case.pk}/link/", {"cameras": [mine.pk], "alerts": [alert.pk]}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["cameras"] == [mine.pk] and response.json()["alerts"] == [alert.pk]


def test_occurred_at_is_required_and_named(api: Any, ward_a: Any) -> None:
    response = api(ward_a.users["investigator"]).post("/api/cases/", {"title": "No time"}, format="json")
    assert response.status_code == 400 and "occurred_at" in response.json()
    assert not Incident.objects.exists()


def test_sightings_become_clip_requests(ward_a: Any) -> None:
    from analytics.models import PlateRead

    camera = camera_in(ward_a.ward, code="PL-1")
    seen = timezone.now() - dt.timedelta(minutes=10)
    read = PlateRead.objects.create(
        ward=ward_a.ward, camera=camera, plate="51F12345", text="51F-123.45", search_key="51F12345",
        confidence=0.9, seen_at=seen, source="api", key="k1",
    )  # fmt: skip
    case = new_case(ward_a)
    clips = services.add_sightings(case=case, reads=[read], margin_s=20, actor=ward_a.users["investigator"])
    assert len(clips) == 1 and clips[0].camera == camera
    assert clips[0].requested_start == seen - dt.timedelta(seconds=20)
    assert clips[0].requested_end == seen + dt.timedelta(seconds=20)
    assert list(case.plate_reads.all()) == [read] and camera in case.cameras.all()
