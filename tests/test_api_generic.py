"""Generic cases for every API endpoint: list, detail, create, update, delete, roles, two-ward isolation."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.api.urls import router
from tests.base.api import SPECS, EndpointSpec

pytestmark = pytest.mark.django_db

ids = [spec.basename for spec in SPECS]


def list_url(spec: EndpointSpec, **params: str) -> str:
    url = reverse(f"api:{spec.basename}-list")
    if params:
        url += "?" + "&".join(f"{k}={v}" for k, v in params.items())
    return url


def detail_url(spec: EndpointSpec, obj: Any) -> str:
    return reverse(f"api:{spec.basename}-detail", args=[obj.pk])


def result_ids(response: Any) -> set[int]:
    data = response.json()
    rows = data.get("results", data.get("features"))
    assert rows is not None, data
    return {row["id"] for row in rows}


def test_every_endpoint_is_covered() -> None:
    """A new router registration without a spec fails here (and so joins the isolation cases)."""
    registered = {basename for _prefix, _viewset, basename in router.registry}
    assert registered == {spec.basename for spec in SPECS}


@pytest.mark.parametrize("spec", SPECS, ids=ids)
def test_anonymous_is_refused(spec: EndpointSpec, api: Any, ward_a: Any) -> None:
    obj = spec.make(ward_a.ward)
    assert api().get(list_url(spec)).status_code == 401
    assert api().get(detail_url(spec, obj)).status_code == 401


@pytest.mark.parametrize("role", ["official", "operator", "investigator", "admin"])
@pytest.mark.parametrize("spec", SPECS, ids=ids)
def test_list_shows_own_ward_only(spec: EndpointSpec, role: str, api: Any, ward_a: Any, ward_b: Any) -> None:
    mine, theirs = spec.make(ward_a.ward), spec.make(ward_b.ward)
    response = api(ward_a.users[role]).get(list_url(spec))
    assert response.status_code == 200
    found = result_ids(response)
    assert (mine.pk in found) == (role in spec.view_roles)
    assert theirs.pk not in found
    if role not in spec.view_roles:
        assert api(ward_a.users[role]).get(detail_url(spec, mine)).status_code == 404


@pytest.mark.parametrize("spec", [s for s in SPECS if s.geojson], ids=[s.basename for s in SPECS if s.geojson])
def test_geojson_layer_shows_own_ward_only(spec: EndpointSpec, api: Any, ward_a: Any, ward_b: Any) -> None:
    mine, theirs = spec.make(ward_a.ward), spec.make(ward_b.ward)
    response = api(ward_a.users["official"]).get(list_url(spec, format="geojson"))
    assert response.status_code == 200
    data = response.json()
    assert data["type"] == "FeatureCollection"
    found = {f["id"] for f in data["features"]}
    assert mine.pk in found and theirs.pk not in found
    one = api(ward_a.users["official"]).get(detail_url(spec, mine) + "?format=geojson").json()
    assert one["type"] == "Feature"


@pytest.mark.parametrize("spec", SPECS, ids=ids)
def test_other_wards_object_is_not_found(spec: EndpointSpec, api: Any, ward_a: Any, ward_b: Any) -> None:
    theirs = spec.make(ward_b.ward)
    client = api(ward_a.users["admin"])
    assert client.get(detail_url(spec, theirs)).status_code == 404
    assert client.patch(detail_url(spec, theirs), {}, format="json").status_code in (404, 405)
    assert client.delete(detail_url(spec, theirs)).status_code in (404, 405)


@pytest.mark.parametrize("spec", SPECS, ids=ids)
def test_filter_by_other_ward_is_refused(spec: EndpointSpec, api: Any, ward_a: Any, ward_b: Any) -> None:
    spec.make(ward_b.ward)
    response = api(ward_a.users["official"]).get(list_url(spec, ward=ward_b.ward.slug))
    assert response.status_code == 400
    assert "ward" in response.json()


@pytest.mark.parametrize("spec", SPECS, ids=ids)
def test_city_user_sees_both_wards_and_filters_by_ward(
    spec: EndpointSpec, api: Any, ward_a: Any, ward_b: Any, city_user: Any
) -> None:
    from portal.models import AuditEntry

    if "investigator" not in spec.view_roles:
        pytest.skip("the city user is an investigator; this endpoint is for other roles")
    mine, theirs = spec.make(ward_a.ward), spec.make(ward_b.ward)
    client = api(city_user)
    assert {mine.pk, theirs.pk} <= result_ids(client.get(list_url(spec)))
    only_b = result_ids(client.get(list_url(spec, ward=ward_b.ward.slug)))
    assert theirs.pk in only_b and mine.pk not in only_b
    # Looking at ward B (not the home ward) is written to the audit log.
    assert AuditEntry.objects.filter(actor=city_user, action="access_outside_home_ward", ward=ward_b.ward).exists()
    assert not AuditEntry.objects.filter(actor=city_user, action="access_outside_home_ward", ward=ward_a.ward).exists()


@pytest.mark.parametrize("spec", [s for s in SPECS if s.writable], ids=[s.basename for s in SPECS if s.writable])
def test_only_admins_write(spec: EndpointSpec, api: Any, ward_a: Any) -> None:
    assert spec.create is not None
    obj = spec.make(ward_a.ward)
    for role in sorted({"official", "operator", "investigator", "admin"} - spec.write_roles):
        client = api(ward_a.users[role])
        assert client.post(list_url(spec), spec.create(ward_a.ward), format=spec.create_format).status_code == 403, role
        hidden = 404 if role not in spec.view_roles else 403
        if spec.update is not None:
            assert client.patch(detail_url(spec, obj), spec.update, format="json").status_code == hidden, role
        if spec.deletable:
            assert client.delete(detail_url(spec, obj)).status_code == hidden, role


@pytest.mark.parametrize("spec", [s for s in SPECS if s.writable], ids=[s.basename for s in SPECS if s.writable])
def test_admin_creates_updates_deletes_in_own_ward(spec: EndpointSpec, api: Any, ward_a: Any, ward_b: Any) -> None:
    from portal.models import AuditEntry

    assert spec.create is not None
    client = api(ward_a.users[sorted(spec.write_roles)[0]])
    response = client.post(list_url(spec), spec.create(ward_a.ward), format=spec.create_format)
    assert response.status_code == spec.created_status, response.json()
    created = response.json()
    assert created["ward"] == ward_a.ward.slug
    url = reverse(f"api:{spec.basename}-detail", args=[created["id"]])
    assert client.get(url).status_code == 200
    if spec.update is not None:
        response = client.patch(url, spec.update, format="json")
        assert response.status_code == 200, response.json()
        for key, value in spec.update.items():
            assert response.json()[key] == value
        assert AuditEntry.objects.filter(actor=ward_a.users["admin"], object_id=str(created["id"])).count() >= 2
    else:
        assert client.patch(url, {}, format="json").status_code == 405
    if spec.deletable:
        assert client.delete(url).status_code == 204
        assert client.get(url).status_code == 404
    else:
        assert client.delete(url).status_code == 405


@pytest.mark.parametrize("spec", [s for s in SPECS if s.writable], ids=[s.basename for s in SPECS if s.writable])
def test_admin_cannot_write_into_other_ward(spec: EndpointSpec, api: Any, ward_a: Any, ward_b: Any) -> None:
    assert spec.create is not None
    payload = spec.create(ward_a.ward) | {"ward": ward_b.ward.slug}
    response = api(ward_a.users["admin"]).post(list_url(spec), payload, format=spec.create_format)
    assert response.status_code == 400
    assert "ward" in response.json()


@pytest.mark.parametrize("spec", [s for s in SPECS if s.related], ids=[s.basename for s in SPECS if s.related])
def test_related_objects_of_other_ward_are_refused(spec: EndpointSpec, api: Any, ward_a: Any, ward_b: Any) -> None:
    assert spec.create is not None
    client = api(ward_a.users["admin"])
    for name, make_other in spec.related.items():
        other = make_other(ward_b.ward)
        value = [other.pk] if name in spec.many_related else other.pk
        payload = spec.create(ward_a.ward) | {name: value}
        response = client.post(list_url(spec), payload, format="json")
        assert response.status_code == 400, (name, response.json())
        assert name in response.json()
        # The message must not reveal that the object exists elsewhere.
        assert ward_b.ward.slug not in str(response.json())


@pytest.mark.parametrize("spec", [s for s in SPECS if s.writable], ids=[s.basename for s in SPECS if s.writable])
def test_unknown_fields_are_named(spec: EndpointSpec, api: Any, ward_a: Any) -> None:
    assert spec.create is not None
    payload = spec.create(ward_a.ward) | {"colour": "red"}
    response = api(ward_a.users["admin"]).post(list_url(spec), payload, format=spec.create_format)
    assert response.status_code == 400
    assert "colour" in response.json()


@pytest.mark.parametrize("spec", SPECS, ids=ids)
def test_list_query_count_does_not_grow(spec: EndpointSpec, api: Any, ward_a: Any) -> None:
    client = api(ward_a.users["admin" if "official" not in spec.view_roles else "official"])
    spec.make(ward_a.ward)
    client.get(list_url(spec))  # warm the per-user role cache
    with CaptureQueriesContext(connection) as one:
        assert client.get(list_url(spec)).status_code == 200
    for _ in range(4):
        spec.make(ward_a.ward)
    with CaptureQueriesContext(connection) as five:
        assert client.get(list_url(spec)).status_code == 200
    assert len(five) == len(one), [q["sql"] for q in five.captured_queries]
