"""The /watchlist/ page: who opens it, proposing through the form, approve/reject/revoke buttons."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from portal.models import AuditEntry
from tests.base.factories import MembershipFactory, UserFactory
from watchlists.models import WatchlistEntry

pytestmark = pytest.mark.django_db


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = "en"
    return client


def form(**extra: Any) -> dict[str, Any]:
    expires = timezone.localtime(timezone.now() + dt.timedelta(days=10)).strftime("%Y-%m-%dT%H:%M")
    return {
        "kind": "plate",
        "plate": "51F-123.45",
        "reason": "Cướp giật",
        "legal_basis": "Quyết định 12/QĐ",
        "priority": "3",
        "expires_at": expires,
        **extra,
    }


def test_investigators_and_admins_open_it_others_do_not(ward_a: Any) -> None:
    for role in ("investigator", "admin"):
        response = logged_in(ward_a.users[role]).get("/watchlist/")
        assert response.status_code == 200, role
        assert b'href="/watchlist/"' in response.content  # the nav link
    for role in ("official", "operator"):
        assert logged_in(ward_a.users[role]).get("/watchlist/").status_code == 403, role
        assert b'href="/watchlist/"' not in logged_in(ward_a.users[role]).get("/").content
    assert Client().get("/watchlist/").status_code == 302


def test_propose_then_another_admin_approves(ward_a: Any) -> None:
    investigator = logged_in(ward_a.users["investigator"])
    response = investigator.post("/watchlist/", form())
    assert response.status_code == 302
    entry = WatchlistEntry.objects.get()
    assert entry.status == "pending" and entry.text == "51F-123.45" and entry.proposed_by == ward_a.users["investigator"]
    assert list(entry.covered_wards.all()) == [ward_a.ward]
    page = investigator.get("/watchlist/").content.decode()
    assert "51F-123.45" in page and "Waiting for an admin" in page
    admin = logged_in(ward_a.users["admin"])
    assert admin.post(f"/watchlist/{entry.pk}/approve/").status_code == 302
    entry.refresh_from_db()
    assert entry.status == "active" and entry.approved_by == ward_a.users["admin"]


def test_proposer_sees_approve_disabled_with_the_reason(ward_a: Any) -> None:
    admin = logged_in(ward_a.users["admin"])
    admin.post("/watchlist/", form())
    entry = WatchlistEntry.objects.get()
    page = admin.get("/watchlist/").content.decode()
    assert "disabled" in page and "another admin of the ward must approve it" in page
    # Posting anyway is refused with the same message, and nothing changes.
    followed = admin.post(f"/watchlist/{entry.pk}/approve/", follow=True).content.decode()
    assert "another admin of the ward must approve it" in followed
    entry.refresh_from_db()
    assert entry.status == "pending"
    other = UserFactory(username="admin2.a")
    MembershipFactory(user=other, ward=ward_a.ward, role="admin")
    logged_in(other).post(f"/watchlist/{entry.pk}/approve/")
    entry.refresh_from_db()
    assert entry.status == "active"


def test_reject_and_revoke_from_the_page_need_a_reason(ward_a: Any) -> None:
    logged_in(ward_a.users["investigator"]).post("/watchlist/", form())
    entry = WatchlistEntry.objects.get()
    admin = logged_in(ward_a.users["admin"])
    admin.post(f"/watchlist/{entry.pk}/reject/", {"reason": ""})
    entry.refresh_from_db()
    assert entry.status == "pending"
    admin.post(f"/watchlist/{entry.pk}/reject/", {"reason": "Thiếu căn cứ"})
    entry.refresh_from_db()
    assert entry.status == "rejected" and entry.close_reason == "Thiếu căn cứ"
    assert AuditEntry.objects.filter(action="watchlist_rejected", actor=ward_a.users["admin"]).exists()


def test_bad_form_input_names_the_field_and_saves_nothing(ward_a: Any) -> None:
    client = logged_in(ward_a.users["investigator"])
    response = client.post("/watchlist/", form(plate="hello", expires_at="2020-01-01T00:00"))
    assert response.status_code == 400
    page = response.content.decode()
    assert "is not a Vietnamese plate" in page
    assert not WatchlistEntry.objects.exists()
    response = client.post("/watchlist/", form(expires_at="2020-01-01T00:00"))
    assert response.status_code == 400 and "in the past" in response.content.decode()
    assert not WatchlistEntry.objects.exists()


def test_other_wards_entries_are_not_found(ward_a: Any, ward_b: Any) -> None:
    logged_in(ward_a.users["investigator"]).post("/watchlist/", form())
    entry = WatchlistEntry.objects.get()
    assert logged_in(ward_b.users["admin"]).post(f"/watchlist/{entry.pk}/approve/").status_code == 404
    assert f'id="entry-{entry.pk}"' not in logged_in(ward_b.users["admin"]).get("/watchlist/").content.decode()
