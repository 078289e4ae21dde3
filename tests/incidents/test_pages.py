"""Case pages: list and new case, the case page with map data, evidence, custody and status buttons."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from PIL import Image

from incidents import services
from incidents.models import CustodyEntry, Evidence, Incident

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_investigator_opens_a_case_from_the_list(ward_a: Any, english: Any) -> None:
    client = client_for(ward_a.users["investigator"])
    page = client.get("/cases/")
    assert page.status_code == 200 and b"Open a case" in page.content and b'href="/cases/"' in page.content
    c = ward_a.ward.boundary.centroid
    response = client.post(
        "/cases/",
        {
            "title": "Motorbike theft",
            "type": "snatching",
            "occurred_at": "2026-03-01T21:00:00",
            "latitude": c.y,
            "longitude": c.x,
        },
    )
    case = Incident.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/cases/{case.pk}/"
    assert case.location is not None and case.status == "open" and case.number.startswith("WA-")
    assert case.occurred_at == timezone.make_aware(dt.datetime(2026, 3, 1, 21, 0))  # Asia/Ho_Chi_Minh
    listed = client.get("/cases/?status=open")
    assert case.number.encode() in listed.content


def test_place_outside_the_ward_is_refused_on_the_page(ward_a: Any, ward_b: Any, english: Any) -> None:
    c = ward_b.ward.boundary.centroid
    client = client_for(ward_a.users["investigator"])
    response = client.post(
        "/cases/",
        {"title": "x", "type": "other", "occurred_at": "2026-03-01T21:00:00", "latitude": c.y, "longitude": c.x},
        follow=True,
    )
    assert b"inside the ward" in response.content and not Incident.objects.exists()


def test_case_page_shows_map_evidence_custody_and_moves_status(
    ward_a: Any, case: Any, media: Path, camera: Any, english: Any
) -> None:
    user = ward_a.users["investigator"]
    services.link(case=case, actor=user, cameras=[camera])
    client = client_for(user)
    buf = io.BytesIO()
    Image.new("RGB", (32, 32)).save(buf, format="PNG")
    response = client.post(f"/cases/{case.pk}/evidence/", {"file": SimpleUploadedFile("a.png", buf.getvalue()), "note": "photo"})
    assert response.status_code == 302
    evidence = Evidence.objects.get()
    page = client.get(f"/cases/{case.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert case.number in html and evidence.sha256 in html and 'id="custody-table"' in html
    assert f"/api/cases/{case.pk}/evidence/{evidence.pk}/download/" in html
    layers = page.context["layers"]
    assert [c["label"].split(" · ")[0] for c in layers["cameras"]] == ["CAM-1"]
    # Rendering the page is not a look at the evidence: only intake is in the chain.
    assert list(CustodyEntry.objects.values_list("action", flat=True)) == ["intake"]
    client.post(f"/cases/{case.pk}/status/", {"status": "investigating"})
    client.post(f"/cases/{case.pk}/status/", {"status": "closed"})  # no note: refused
    case.refresh_from_db()
    assert case.status == "investigating"
    client.post(f"/cases/{case.pk}/status/", {"status": "closed", "note": "Returned to the owner."})
    case.refresh_from_db()
    assert case.status == "closed"
    assert 'id="release-hold"' in client.get(f"/cases/{case.pk}/").content.decode()


def test_operators_see_the_case_not_its_evidence_and_officials_nothing(ward_a: Any, ward_b: Any, case: Any) -> None:
    page = client_for(ward_a.users["operator"]).get(f"/cases/{case.pk}/")
    assert page.status_code == 200 and b'id="evidence-table"' not in page.content
    assert client_for(ward_a.users["operator"]).post(f"/cases/{case.pk}/status/", {"status": "investigating"}).status_code == 403
    assert client_for(ward_a.users["official"]).get("/cases/").status_code == 403
    assert client_for(ward_a.users["official"]).get(f"/cases/{case.pk}/").status_code == 404
    assert client_for(ward_b.users["investigator"]).get(f"/cases/{case.pk}/").status_code == 404
