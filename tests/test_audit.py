"""Sign-in is audited, the audit log's hash chain verifies, and tampering with it is caught.

Tampering goes around the ORM (raw SQL), as someone with database access would.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from portal.models import AuditEntry
from portal.services import audit, verify_audit_chain

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

PASSWORD = "pw-for-tests-1"  # tests.base.factories.UserFactory
TABLE = AuditEntry._meta.db_table


def verify_exit() -> tuple[int, str]:
    """``manage.py verify_audit``: the exit status the shell sees (a CommandError's ``returncode``) and its message."""
    out = io.StringIO()
    try:
        call_command("verify_audit", stdout=out)
    except CommandError as exc:
        return exc.returncode, str(exc)
    return 0, out.getvalue()


def raw(sql: str, params: list[Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def chain(ward_a: Any) -> list[AuditEntry]:
    """Five entries written the normal way."""
    admin = ward_a.users["admin"]
    entries = [
        audit(action="plate_search", actor=admin, ward=ward_a.ward, reason="Vụ trộm xe 12/3", detail={"plate": "59A-123.45"}),
        audit(action="camera_changed", actor=admin, ward=ward_a.ward, detail={"fields": ["status"]}, ip="10.1.2.3"),
        audit(action="evidence_export", actor=admin, ward=ward_a.ward, reason="Hồ sơ 7", ip="2001:db8::1"),
        audit(action="sign_in_failed", actor_name="ghost"),
        audit(action="ward_switched", actor=admin, ward=ward_a.ward),
    ]
    return [AuditEntry.objects.get(pk=e.pk) for e in entries]


# -- sign-in -------------------------------------------------------------------------------------


def test_portal_sign_in_is_audited(ward_a: Any) -> None:
    user = ward_a.users["operator"]
    response = Client().post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="sign_in")
    assert (entry.actor, entry.actor_name, entry.ward, entry.ip) == (user, user.username, ward_a.ward, "127.0.0.1")


def test_portal_failed_sign_in_is_audited_without_the_password(ward_a: Any) -> None:
    client = Client()
    response = client.post(reverse("login"), {"username": "operator.a", "password": "guess-Xy12"})
    assert response.status_code == 200 and not response.wsgi_request.user.is_authenticated
    client.post(reverse("login"), {"username": "nobody.here", "password": "guess-Xy12"})
    failed = list(AuditEntry.objects.filter(action="sign_in_failed").order_by("id"))
    assert [(e.actor_name, e.actor, e.ward, e.ip) for e in failed] == [
        ("operator.a", None, None, "127.0.0.1"),
        ("nobody.here", None, None, "127.0.0.1"),
    ]
    assert not AuditEntry.objects.filter(action="sign_in").exists()
    for entry in AuditEntry.objects.all():
        assert "guess-Xy12" not in str([entry.detail, entry.reason, entry.object_repr, entry.actor_name])


def test_token_sign_in(ward_a: Any) -> None:
    user = ward_a.users["investigator"]
    client = APIClient()
    url = reverse("api:token")
    response = client.post(url, {"username": user.username, "password": PASSWORD}, format="json")
    assert response.status_code == 200
    assert set(response.json()) == {"token"}
    token = response.json()["token"]
    entry = AuditEntry.objects.get(action="sign_in")
    assert (entry.actor, entry.ward) == (user, ward_a.ward)
    # The token works, and asking again gives the same one.
    me = APIClient(HTTP_AUTHORIZATION=f"Token {token}").get(reverse("api:me"))
    assert me.status_code == 200 and me.json()["username"] == user.username
    assert client.post(url, {"username": user.username, "password": PASSWORD}, format="json").json() == {"token": token}


def test_token_refusals(ward_a: Any) -> None:
    client = APIClient()
    url = reverse("api:token")
    wrong = client.post(url, {"username": "admin.a", "password": "not-it"}, format="json")
    assert wrong.status_code == 400
    assert wrong.json() == {"detail": "Wrong username or password."}
    unknown_user = client.post(url, {"username": "nobody", "password": "not-it"}, format="json")
    assert unknown_user.status_code == 400 and unknown_user.json() == wrong.json(), "the same answer whether the user exists"
    assert [e.actor_name for e in AuditEntry.objects.filter(action="sign_in_failed").order_by("id")] == ["admin.a", "nobody"]

    extra = client.post(url, {"username": "admin.a", "password": PASSWORD, "remember": True}, format="json")
    assert extra.status_code == 400 and "remember" in extra.json()
    missing = client.post(url, {"username": "admin.a"}, format="json")
    assert missing.status_code == 400 and "password" in missing.json()
    garbage = client.post(url, "not json", content_type="application/json")
    assert garbage.status_code == 400

    user = ward_a.users["official"]
    user.is_active = False
    user.save()
    inactive = client.post(url, {"username": user.username, "password": PASSWORD}, format="json")
    assert inactive.status_code == 400 and "token" not in inactive.json()
    assert not AuditEntry.objects.filter(action="sign_in").exists()


# -- the chain -----------------------------------------------------------------------------------


def test_chain_verifies(chain: list[AuditEntry]) -> None:
    Client().post(reverse("login"), {"username": "admin.a", "password": PASSWORD})
    APIClient().post(reverse("api:token"), {"username": "admin.a", "password": "wrong"}, format="json")
    report = verify_audit_chain()
    assert report.intact and report.checked == AuditEntry.objects.count() == 7
    code, output = verify_exit()
    assert code == 0 and "intact: 7 entries" in output


@pytest.mark.parametrize(
    "column,value",
    [
        ("reason", "Không có lý do"),
        ("actor_name", "someone.else"),
        ("detail", '{"plate": "51F-000.00"}'),
        ("at", "2020-01-01 00:00:00"),
    ],
)
def test_an_edited_entry_is_named(column: str, value: str, chain: list[AuditEntry]) -> None:
    victim = chain[2] if column != "detail" else chain[0]
    raw(f"UPDATE {TABLE} SET {column} = %s WHERE id = %s", [value, victim.pk])  # noqa: S608
    report = verify_audit_chain()
    assert report.broken_ids == [victim.pk]
    code, output = verify_exit()
    assert code != 0
    assert output.endswith(f"broken at 1 of 5 entries: ids {victim.pk}")


def test_a_re_hashed_edit_breaks_the_next_link(chain: list[AuditEntry]) -> None:
    """Someone who also recomputes the edited entry's hash is caught at the entry after it."""
    victim = AuditEntry.objects.get(pk=chain[1].pk)
    victim.reason = "covered up"
    new_hash = victim.compute_hash()
    raw(f"UPDATE {TABLE} SET reason = %s, hash = %s WHERE id = %s", [victim.reason, new_hash, victim.pk])  # noqa: S608
    assert verify_audit_chain().broken_ids == [chain[2].pk]


def test_a_deleted_entry_is_detected(chain: list[AuditEntry]) -> None:
    raw(f"DELETE FROM {TABLE} WHERE id = %s", [chain[2].pk])  # noqa: S608
    report = verify_audit_chain()
    assert report.checked == 4 and report.broken_ids == [chain[3].pk]
    code, output = verify_exit()
    assert code != 0 and f"ids {chain[3].pk}" in output


def test_deleting_the_first_entry_is_detected(chain: list[AuditEntry]) -> None:
    raw(f"DELETE FROM {TABLE} WHERE id = %s", [chain[0].pk])  # noqa: S608
    assert verify_audit_chain().broken_ids == [chain[1].pk]


@pytest.mark.parametrize("ip", ["2001:0DB8:0000:0000:0000:0000:0000:0001", "::ffff:10.0.0.1", "FE80::1"])
def test_ipv6_addresses_do_not_break_the_chain(ip: str, ward_a: Any) -> None:
    """The database stores IPv6 addresses in their short form; the hash must be of what is stored."""
    audit(action="sign_in", actor=ward_a.users["admin"], ward=ward_a.ward, ip=ip)
    Client(REMOTE_ADDR=ip).post(reverse("login"), {"username": "admin.a", "password": PASSWORD})
    report = verify_audit_chain()
    assert report.intact, report
    assert report.checked == 2


def test_a_remote_address_that_is_not_an_ip_is_kept_without_breaking_the_entry(ward_a: Any) -> None:
    """A proxy may pass "unknown"; PostgreSQL's inet column would refuse it and lose the sign-in entry."""
    response = Client(REMOTE_ADDR="unknown").post(reverse("login"), {"username": "admin.a", "password": PASSWORD})
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="sign_in")
    assert entry.ip is None and entry.detail == {"remote_addr": "unknown"}
    assert verify_audit_chain().intact
