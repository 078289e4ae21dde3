"""The OpenAPI schema describes every endpoint without warnings, and validates."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db


def test_schema_validates_without_warnings(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out), stdout=StringIO(), stderr=StringIO())
    text = out.read_text()
    assert "/api/cameras/{id}/" in text


def api_paths() -> set[str]:
    """Every URL pattern under /api/ (the router's and the plain views')."""
    found: set[str] = set()

    def walk(patterns: list, prefix: str) -> None:  # type: ignore[type-arg]
        for p in patterns:
            route = prefix + str(p.pattern)
            if isinstance(p, URLResolver):
                walk(p.url_patterns, route)
            elif isinstance(p, URLPattern) and route.startswith("api/"):
                found.add(route)

    walk(get_resolver().url_patterns, "")
    return found


def test_every_api_route_is_in_the_schema(client) -> None:  # type: ignore[no-untyped-def]
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.create_user("reader", password="x-pass-123"))
    documented = set(client.get("/api/schema/?format=json").json()["paths"])
    for route in api_paths():
        if "schema" in route or "docs" in route or route in ("api/", "api/^$", "api/^\\.(?P<format>[a-z0-9]+)/?$"):
            continue
        if "(?P<format>" in route or "drf_format_suffix" in route:
            continue
        # Router routes look like "api/^cameras/(?P<pk>[^/.]+)/$"; plain ones like "api/me/".
        path = "/" + route.replace("(?P<pk>[^/.]+)", "{id}").replace("^", "").replace("$", "")
        path = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", path)  # other named parts, e.g. {eid}
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path)  # path() converters, e.g. <int:pk>
        path = path.replace("{pk}", "{id}")
        assert path in documented, path
