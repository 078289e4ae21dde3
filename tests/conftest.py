"""Two wards side by side, each with one user per role, plus a city user in both (STYLE.md §11)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from rest_framework.test import APIClient

from portal.models import Role, Ward
from tests.base.factories import MembershipFactory, OldWardFactory, UserFactory, WardFactory, box


def pytest_configure(config: Any) -> None:
    from django.conf import settings

    # Real hashing costs ~0.4 s a user; the suite makes hundreds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Connections opened in Channels' worker threads must close, or the test database cannot be dropped.
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0


@pytest.fixture
def english(settings: Any) -> Any:
    """Messages asserted in English, the language of the source (the UI defaults to Vietnamese)."""
    from django.utils import translation

    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def fresh_cache() -> Any:
    """Cached coverage must never leak from one test's wards into another's (ids are reused)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@dataclass
class WardWorld:
    ward: Ward
    users: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def ward_a(db: Any) -> WardWorld:
    ward = WardFactory(slug="ward-a", name="Phường A", code="WA", boundary=box(106.76, 10.82, 106.80, 10.86))
    OldWardFactory(ward=ward, name="A north", boundary=box(106.76, 10.84, 106.80, 10.86))
    OldWardFactory(ward=ward, name="A south", boundary=box(106.76, 10.82, 106.80, 10.84))
    world = WardWorld(ward=ward)
    for role in Role.values:
        user = UserFactory(username=f"{role}.a")
        MembershipFactory(user=user, ward=ward, role=role)
        world.users[role] = user
    return world


@pytest.fixture
def ward_b(db: Any) -> WardWorld:
    ward = WardFactory(slug="ward-b", name="Phường B", code="WB", boundary=box(106.70, 10.78, 106.74, 10.82))
    OldWardFactory(ward=ward, name="B only", boundary=box(106.70, 10.78, 106.74, 10.82))
    world = WardWorld(ward=ward)
    for role in Role.values:
        user = UserFactory(username=f"{role}.b")
        MembershipFactory(user=user, ward=ward, role=role)
        world.users[role] = user
    return world


@pytest.fixture
def city_user(ward_a: WardWorld, ward_b: WardWorld) -> Any:
    """An investigator of the city police: member of both wards, home ward A."""
    user = UserFactory(username="investigator.city")
    MembershipFactory(user=user, ward=ward_a.ward, role="investigator", is_home=True)
    MembershipFactory(user=user, ward=ward_b.ward, role="investigator", is_home=False)
    return user


@pytest.fixture
def api() -> Any:
    def client_for(user: Any = None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return client_for
