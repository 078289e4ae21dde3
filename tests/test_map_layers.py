"""Map layers: slim features, one geometry each, a fixed number of queries whatever the camera count."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.base.factories import camera_in

pytestmark = pytest.mark.django_db


def test_points_and_sectors_layers_do_not_leak_into_each_other(api: Any, ward_a: Any) -> None:
    for i in range(5):
        camera_in(ward_a.ward, code=f"L-{i}")
    client = api(ward_a.users["official"])
    client.get("/api/cameras/?format=geojson")  # warm the role cache
    sectors = client.get("/api/cameras/?format=geojson&geometry=fov").json()
    with CaptureQueriesContext(connection) as queries:
        points = client.get("/api/cameras/?format=geojson").json()
    assert len(queries) <= 4, [q["sql"] for q in queries.captured_queries]
    assert {f["geometry"]["type"] for f in points["features"]} == {"Point"}
    assert {f["geometry"]["type"] for f in sectors["features"]} == {"Polygon"}
    for feature in points["features"] + sectors["features"]:
        assert "fov" not in feature["properties"] and "location" not in feature["properties"]
        assert "stream_password" not in feature["properties"]
    assert points["features"][0]["properties"]["status_label"]


def test_geometry_output_is_geojson(api: Any, ward_a: Any) -> None:
    camera = camera_in(ward_a.ward, code="G-1")
    data = api(ward_a.users["official"]).get(f"/api/cameras/{camera.pk}/").json()
    assert data["location"]["type"] == "Point"
    assert data["location"]["coordinates"] == pytest.approx([camera.location.x, camera.location.y])
    ring = data["fov"]["coordinates"][0]
    assert data["fov"]["type"] == "Polygon" and ring[0] == ring[-1]
