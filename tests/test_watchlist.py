"""Watchlists: proposal, approval by another admin, matching by search key, alerts in each covered ward, expiry."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from analytics.models import Alert, AlertEvent, AlertType, PlateRead
from portal.models import AuditEntry
from tests.base.analysis import face_in, plate_read_in
from tests.base.factories import MembershipFactory, UserFactory, WardFactory, box, camera_in
from watchlists import services
from watchlists.models import WatchlistEntry, WatchlistHit

pytestmark = pytest.mark.django_db

URL = "/api/watchlist/"


def in_days(days: float) -> str:
    return (timezone.now() + dt.timedelta(days=days)).isoformat()


def payload(**extra: Any) -> dict[str, Any]:
    return {
        "plate": "51F-123.45",
        "reason": "Xe gây cướp giật ở chợ Tăng Nhơn Phú ngày 12/3",
        "legal_basis": "Quyết định khởi tố vụ án số 12/QĐ-CAP",
        "priority": 4,
        "expires_at": in_days(7),
        **extra,
    }


@pytest.fixture
def second_admin(ward_a: Any) -> Any:
    user = UserFactory(username="admin2.a")
    MembershipFactory(user=user, ward=ward_a.ward, role="admin")
    return user


@pytest.fixture
def ward_c(db: Any) -> Any:
    ward = WardFactory(slug="ward-c", name="Phường C", code="WC", boundary=box(106.64, 10.74, 106.68, 10.78))
    operator = UserFactory(username="operator.c")
    MembershipFactory(user=operator, ward=ward, role="operator")
    return ward


def propose(api: Any, user: Any, **extra: Any) -> dict[str, Any]:
    response = api(user).post(URL, payload(**extra), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def approve(api: Any, user: Any, entry_id: int) -> Any:
    return api(user).post(f"{URL}{entry_id}/approve/", {}, format="json")


def active_entry(ward_a: Any, approver: Any, plate: str = "51F-123.45", covered: list[Any] | None = None) -> WatchlistEntry:
    entry = services.propose(
        actor=ward_a.users["investigator"],
        ward=ward_a.ward,
        plate=plate,
        reason="Cướp giật",
        legal_basis="Quyết định 12/QĐ",
        expires_at=timezone.now() + dt.timedelta(days=3),
        covered_wards=covered or [],
    )
    return services.approve(entry=entry, actor=approver)


# --- proposing and approving ----------------------------------------------------------------------


def test_investigator_proposes_and_another_admin_approves(api: Any, ward_a: Any, english: Any) -> None:
    created = propose(api, ward_a.users["investigator"])
    assert created["status"] == "pending"
    assert created["text"] == "51F-123.45" and created["search_key"] == "51F12345"
    assert created["covered_wards"] == [ward_a.ward.slug]
    assert created["proposed_by"] == "investigator.a"
    response = approve(api, ward_a.users["admin"], created["id"])
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "active" and response.json()["approved_by"] == "admin.a"
    actions = list(
        AuditEntry.objects.filter(object_type="watchlists.watchlistentry", object_id=str(created["id"]))
        .order_by("id")
        .values_list("action", "actor_name", "reason")
    )
    assert actions[0] == ("watchlist_proposed", "investigator.a", payload()["reason"])
    assert actions[1][:2] == ("watchlist_approved", "admin.a")


def test_self_approval_is_refused(api: Any, ward_a: Any, second_admin: Any, english: Any) -> None:
    created = propose(api, ward_a.users["admin"])
    response = approve(api, ward_a.users["admin"], created["id"])
    assert response.status_code == 403
    assert "another admin" in response.json()["detail"]
    assert WatchlistEntry.objects.get(pk=created["id"]).status == "pending"
    assert not AuditEntry.objects.filter(action="watchlist_approved").exists()
    assert approve(api, second_admin, created["id"]).status_code == 200


def test_only_an_admin_of_the_entrys_ward_approves(api: Any, ward_a: Any, ward_b: Any, city_user: Any, english: Any) -> None:
    created = propose(api, ward_a.users["investigator"])
    # Ward B's admin does not even see it; the city investigator sees it but is no admin; nor is an operator.
    assert approve(api, ward_b.users["admin"], created["id"]).status_code == 404
    assert approve(api, ward_a.users["operator"], created["id"]).status_code == 404
    refused = approve(api, city_user, created["id"])
    assert refused.status_code == 403 and "admin" in refused.json()["detail"]
    assert WatchlistEntry.objects.get(pk=created["id"]).status == "pending"


def test_reject_and_revoke_need_a_reason_and_are_audited(api: Any, ward_a: Any, second_admin: Any, english: Any) -> None:
    one = propose(api, ward_a.users["investigator"])
    two = propose(api, ward_a.users["investigator"], plate="59-X1 234.56")
    admin = api(ward_a.users["admin"])
    missing = admin.post(f"{URL}{one['id']}/reject/", {}, format="json")
    assert missing.status_code == 400 and "reason" in missing.json()
    assert admin.post(f"{URL}{one['id']}/reject/", {"reason": "Thiếu căn cứ"}, format="json").json()["status"] == "rejected"
    # Rejected is final: it cannot be approved afterwards.
    again = approve(api, second_admin, one["id"])
    assert again.status_code == 400 and "status" in again.json()
    assert approve(api, ward_a.users["admin"], two["id"]).status_code == 200
    # The investigator cannot reject; as proposer they may withdraw (revoke) their own entry.
    assert api(ward_a.users["investigator"]).post(f"{URL}{two['id']}/reject/", {"reason": "x"}, format="json").status_code == 400
    revoked = api(ward_a.users["investigator"]).post(f"{URL}{two['id']}/revoke/", {"reason": "Đã bắt được"}, format="json")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert revoked.json()["closed_by"] == "investigator.a" and revoked.json()["close_reason"] == "Đã bắt được"
    assert AuditEntry.objects.filter(action="watchlist_rejected", reason="Thiếu căn cứ").exists()
    assert AuditEntry.objects.filter(action="watchlist_revoked", reason="Đã bắt được").exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"plate": "hello"}, "plate"),
        ({"plate": ""}, "plate"),
        ({"expires_at": "2020-01-01T00:00:00+07:00"}, "expires_at"),
        ({"expires_at": in_days(365)}, "expires_at"),
        ({"expires_at": "tomorrow"}, "expires_at"),
        ({"reason": "  "}, "reason"),
        ({"legal_basis": ""}, "legal_basis"),
        ({"priority": 1}, "priority"),
        ({"covered_wards": ["ward-b"]}, "covered_wards"),
        ({"covered_wards": [999999]}, "covered_wards"),
        ({"colour": "red"}, "colour"),
        ({"kind": "face"}, "kind"),
        ({"kind": "iris"}, "kind"),
    ],
)
def test_bad_input_names_the_field_and_saves_nothing(
    api: Any, ward_a: Any, ward_b: Any, change: dict[str, Any], field: str, english: Any
) -> None:
    body = payload(**change)
    response = api(ward_a.users["investigator"]).post(URL, body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json(), response.json()
    assert not WatchlistEntry.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="watchlist").exists()


def test_expiry_message_says_what_to_fix(api: Any, ward_a: Any, english: Any) -> None:
    response = api(ward_a.users["investigator"]).post(URL, payload(expires_at=in_days(-1)), format="json")
    assert "in the past" in response.json()["expires_at"][0]


def test_covering_another_of_your_wards_is_logged_there(api: Any, ward_a: Any, ward_b: Any, city_user: Any) -> None:
    created = propose(api, city_user, covered_wards=[ward_b.ward.slug])
    assert created["covered_wards"] == sorted([ward_a.ward.slug, ward_b.ward.slug])
    assert AuditEntry.objects.filter(action="watchlist_covers_ward", ward=ward_b.ward, object_id=str(created["id"])).exists()


def test_officials_and_operators_see_no_entries(api: Any, ward_a: Any) -> None:
    created = propose(api, ward_a.users["investigator"])
    for role in ("official", "operator"):
        assert api(ward_a.users[role]).get(URL).json()["results"] == []
        assert api(ward_a.users[role]).get(f"{URL}{created['id']}/").status_code == 404
        assert api(ward_a.users[role]).post(URL, payload(), format="json").status_code == 403


def test_entries_are_never_edited_or_deleted(api: Any, ward_a: Any) -> None:
    created = propose(api, ward_a.users["investigator"])
    client = api(ward_a.users["admin"])
    assert client.patch(f"{URL}{created['id']}/", {"reason": "x"}, format="json").status_code == 405
    assert client.delete(f"{URL}{created['id']}/").status_code == 405


# --- face entries -------------------------------------------------------------------------------


def test_face_entry_only_where_faces_are_enabled(api: Any, ward_a: Any, second_admin: Any) -> None:
    sighting = face_in(ward_a.ward, embedding=[0.1] * 128)
    body = {k: v for k, v in payload(kind="face", face_sighting=sighting.pk).items() if k != "plate"}
    refused = api(ward_a.users["investigator"]).post(URL, body, format="json")
    assert refused.status_code == 400 and "kind" in refused.json()
    ward_a.ward.faces_enabled = True
    ward_a.ward.save()
    created = api(ward_a.users["investigator"]).post(URL, body, format="json")
    assert created.status_code == 201, created.json()
    entry = WatchlistEntry.objects.get(pk=created.json()["id"])
    assert entry.embedding == [0.1] * 128 and "embedding" not in created.json()
    services.approve(entry=entry, actor=second_admin)
    near = face_in(ward_a.ward, embedding=[0.1 + 0.03] * 128)  # distance 0.34
    far = face_in(ward_a.ward, embedding=[0.2] * 128)  # distance 1.13
    assert services.match_face_sightings(sighting_ids=[near.pk, far.pk]) == 1
    alert = Alert.objects.get(type=AlertType.WATCHLIST_HIT)
    assert alert.details["sighting"]["face_sighting"] == near.pk


# --- matching -----------------------------------------------------------------------------------


def test_ocr_slip_read_matches_and_raises_one_alert(ward_a: Any, second_admin: Any) -> None:
    entry = active_entry(ward_a, second_admin)
    camera = camera_in(ward_a.ward, code="CHO-01", name="Cổng chợ")
    read = plate_read_in(ward_a.ward, camera=camera, plate="5IF-I23.4S")
    assert read.search_key == entry.search_key
    assert services.match_plate_reads(read_ids=[read.pk]) == 1
    assert services.match_plate_reads(read_ids=[read.pk]) == 0  # a task run twice raises nothing more
    alert = Alert.objects.get(type=AlertType.WATCHLIST_HIT)
    assert alert.ward == ward_a.ward and alert.camera == camera and alert.severity == 3
    assert alert.details["entry"] == entry.pk and alert.details["plate"] == "51F-123.45"
    seen = alert.details["sighting"]
    assert seen["read"] == read.pk and seen["camera"]["code"] == "CHO-01" and seen["ward"]["slug"] == "ward-a"
    assert seen["seen_at"] == read.seen_at.isoformat() and seen["recorded"] is False
    assert WatchlistHit.objects.filter(entry=entry, plate_read=read).count() == 1


def test_other_plates_do_not_match(ward_a: Any, second_admin: Any) -> None:
    active_entry(ward_a, second_admin)
    reads = [plate_read_in(ward_a.ward, plate=p) for p in ("51F-123.46", "51G-123.45", "59-F1 123.45")]
    assert services.match_plate_reads(read_ids=[r.pk for r in reads]) == 0
    assert not Alert.objects.exists()


@pytest.mark.parametrize("state", ["pending", "rejected", "revoked", "expired", "lapsed"])
def test_entries_not_active_never_match(ward_a: Any, second_admin: Any, state: str) -> None:
    entry = services.propose(
        actor=ward_a.users["investigator"],
        ward=ward_a.ward,
        plate="51F-123.45",
        reason="r",
        legal_basis="b",
        expires_at=timezone.now() + dt.timedelta(days=1),
    )
    if state == "rejected":
        services.reject(entry=entry, actor=second_admin, reason="no")
    elif state != "pending":
        services.approve(entry=entry, actor=second_admin)
    if state == "revoked":
        services.revoke(entry=entry, actor=second_admin, reason="done")
    if state in ("expired", "lapsed"):
        WatchlistEntry.objects.filter(pk=entry.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    if state == "expired":
        assert services.expire_entries() == 1
    read = plate_read_in(ward_a.ward, plate="51F-123.45")
    assert services.match_plate_reads(read_ids=[read.pk]) == 0
    assert not Alert.objects.exists() and not WatchlistHit.objects.exists()


def test_hit_raises_the_alert_in_each_covered_ward_and_only_there(
    ward_a: Any, ward_b: Any, ward_c: Any, city_user: Any, second_admin: Any
) -> None:
    entry = services.propose(
        actor=city_user,
        ward=ward_a.ward,
        plate="51F-123.45",
        reason="r",
        legal_basis="b",
        priority=4,
        covered_wards=[ward_b.ward],
        expires_at=timezone.now() + dt.timedelta(days=1),
    )
    services.approve(entry=entry, actor=second_admin)
    camera_b = camera_in(ward_b.ward, code="B-CAM", name="Ngã tư B")
    read_b = plate_read_in(ward_b.ward, camera=camera_b, plate="51F-123.45")
    read_c = plate_read_in(ward_c, camera=camera_in(ward_c, code="C-CAM"), plate="51F-123.45")
    assert services.match_plate_reads(read_ids=[read_b.pk, read_c.pk]) == 1
    alerts = {a.ward_id: a for a in Alert.objects.filter(type=AlertType.WATCHLIST_HIT)}
    assert set(alerts) == {ward_a.ward.pk, ward_b.ward.pk}
    assert alerts[ward_b.ward.pk].camera == camera_b
    # Ward A's alert does not point at ward B's camera row; its details say where the plate was seen.
    assert alerts[ward_a.ward.pk].camera is None
    assert alerts[ward_a.ward.pk].details["sighting"]["camera"]["code"] == "B-CAM"
    assert all(a.severity == 4 for a in alerts.values())
    assert set(AlertEvent.objects.values_list("ward_id", flat=True)) == {ward_a.ward.pk, ward_b.ward.pk}


def test_repeated_sightings_group_into_one_alert_per_ward(ward_a: Any, second_admin: Any) -> None:
    entry = active_entry(ward_a, second_admin)
    first = plate_read_in(ward_a.ward, camera=camera_in(ward_a.ward, code="G-1"), plate="51F-123.45")
    second = plate_read_in(ward_a.ward, camera=camera_in(ward_a.ward, code="G-2"), plate="51F12345")
    assert services.match_plate_reads(read_ids=[first.pk]) == 1
    assert services.match_plate_reads(read_ids=[second.pk]) == 1
    alert = Alert.objects.get(type=AlertType.WATCHLIST_HIT)
    assert alert.count == 2 and alert.details["entry"] == entry.pk
    assert alert.details["sighting"]["camera"]["code"] == "G-2"  # where it was seen last
    assert list(alert.events.values_list("kind", flat=True)) == ["raised", "grouped"]


def test_alert_of_another_wards_camera_reads_well_in_the_api(api: Any, ward_a: Any, ward_b: Any, city_user: Any) -> None:
    admin2 = UserFactory(username="admin2.a")
    MembershipFactory(user=admin2, ward=ward_a.ward, role="admin")
    entry = services.propose(
        actor=city_user,
        ward=ward_a.ward,
        plate="51F-123.45",
        reason="r",
        legal_basis="b",
        covered_wards=[ward_b.ward],
        expires_at=timezone.now() + dt.timedelta(days=1),
    )
    services.approve(entry=entry, actor=admin2)
    read = plate_read_in(ward_b.ward, camera=camera_in(ward_b.ward, code="B-7", name="Cầu B"), plate="51F-123.45")
    services.match_plate_reads(read_ids=[read.pk])
    rows = api(ward_a.users["operator"]).get("/api/alerts/").json()["results"]
    assert len(rows) == 1
    assert rows[0]["camera"] is None and rows[0]["camera_code"] == "B-7" and "Cầu B" in rows[0]["camera_name"]
    assert rows[0]["type"] == "watchlist_hit"
    # Escalating it into a case works without a camera.
    response = api(ward_a.users["operator"]).post(f"/api/alerts/{rows[0]['id']}/escalate/", {}, format="json")
    assert response.status_code == 200, response.json()


def test_clip_read_alert_says_it_was_recorded(ward_a: Any, second_admin: Any) -> None:
    from analytics.models import ClipJob

    active_entry(ward_a, second_admin)
    job = ClipJob.objects.create(
        ward=ward_a.ward, filename="c.mp4", file="clips/x.bin", recorded_at=timezone.now(), created_by=second_admin
    )
    read = plate_read_in(ward_a.ward, plate="51F-123.45", job=job)
    assert services.match_plate_reads(read_ids=[read.pk]) == 1
    alert = Alert.objects.get()
    assert alert.details["sighting"]["recorded"] is True and alert.details["sighting"]["clip_job"] == job.pk


def test_queue_matching_runs_after_commit(
    ward_a: Any, second_admin: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from portal.celery import app

    app.conf.task_always_eager = True
    try:
        active_entry(ward_a, second_admin)
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            read = plate_read_in(ward_a.ward, plate="51F-123.45")
            services.queue_matching([read.pk])
            assert not Alert.objects.exists()  # nothing before the read is committed
        assert Alert.objects.filter(type=AlertType.WATCHLIST_HIT).count() == 1
    finally:
        app.conf.task_always_eager = False


def test_a_revoked_entry_stops_matching_at_once(ward_a: Any, second_admin: Any) -> None:
    entry = active_entry(ward_a, second_admin)
    services.revoke(entry=entry, actor=second_admin, reason="found")
    read = plate_read_in(ward_a.ward, plate="51F-123.45")
    assert services.match_plate_reads(read_ids=[read.pk]) == 0


# --- expiry -------------------------------------------------------------------------------------


def test_expiry_job_marks_entries_expired_and_audits_each(ward_a: Any, second_admin: Any) -> None:
    active = active_entry(ward_a, second_admin)
    pending = services.propose(
        actor=ward_a.users["investigator"],
        ward=ward_a.ward,
        plate="59-X1 234.56",
        reason="r",
        legal_basis="b",
        expires_at=timezone.now() + dt.timedelta(days=1),
    )
    later = active_entry(ward_a, second_admin, plate="51G-111.11")
    WatchlistEntry.objects.filter(pk__in=[active.pk, pending.pk]).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    from watchlists.tasks import expire_entries

    assert expire_entries() == 2
    assert expire_entries() == 0  # run twice: nothing more
    statuses = dict(WatchlistEntry.objects.values_list("pk", "status"))
    assert statuses == {active.pk: "expired", pending.pk: "expired", later.pk: "active"}
    logged = AuditEntry.objects.filter(action="watchlist_expired")
    assert sorted(int(i) for i in logged.values_list("object_id", flat=True)) == sorted([active.pk, pending.pk])
    assert set(logged.values_list("actor_name", flat=True)) == {"scheduler"}


def test_expiry_is_scheduled() -> None:
    from django.conf import settings

    jobs = {v["task"] for v in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "watchlists.expire" in jobs


def test_every_change_is_audited(ward_a: Any, second_admin: Any) -> None:
    entry = active_entry(ward_a, second_admin)
    services.revoke(entry=entry, actor=second_admin, reason="done")
    actions = list(
        AuditEntry.objects.filter(object_type="watchlists.watchlistentry", object_id=str(entry.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["watchlist_proposed", "watchlist_approved", "watchlist_revoked"]
    assert PlateRead.objects.count() == 0


def test_read_posted_to_the_api_is_matched(
    api: Any, ward_a: Any, second_admin: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from portal.celery import app

    entry = active_entry(ward_a, second_admin)
    camera = camera_in(ward_a.ward, code="EDGE-1")
    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = api(ward_a.users["operator"]).post(
                "/api/plate-reads/",
                {"camera": "EDGE-1", "plate": "5IF-I23.4S", "seen_at": timezone.now().isoformat(), "confidence": 0.8},
                format="json",
            )
        assert response.status_code in (200, 201, 202), response.json()
    finally:
        app.conf.task_always_eager = False
    alert = Alert.objects.get(type=AlertType.WATCHLIST_HIT)
    assert alert.camera == camera and alert.details["entry"] == entry.pk


def test_hits_of_an_entry_are_listed(api: Any, ward_a: Any, second_admin: Any) -> None:
    entry = active_entry(ward_a, second_admin)
    read = plate_read_in(ward_a.ward, camera=camera_in(ward_a.ward, code="H-1"), plate="51F-123.45")
    services.match_plate_reads(read_ids=[read.pk])
    rows = api(ward_a.users["investigator"]).get(f"{URL}{entry.pk}/hits/").json()["results"]
    assert [(r["plate_read"], r["details"]["sighting"]["camera"]["code"]) for r in rows] == [(read.pk, "H-1")]
    assert api(ward_a.users["operator"]).get(f"{URL}{entry.pk}/hits/").status_code == 404
