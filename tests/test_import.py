"""Import of legacy cameras from CSV and GeoJSON: every bad row named by line and column, all or none saved.

The same files go through ``import_file``, the ``import_cameras`` command and the admin page.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from cameras.importer import ImportFileError, import_file
from cameras.models import Camera
from portal.models import AuditEntry
from tests.base.factories import camera_in

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


HEADER = "ward,code,name,longitude,latitude,status,main_stream_url,heading,fov_angle"

# (line, column, words the message must contain) for each bad row of BAD_CSV.
BAD_ROWS = [
    (4, "longitude/latitude", "missing"),
    (5, "location", "swapped"),
    (6, "location", "outside Vietnam"),
    (7, "code", "appears twice"),
    (8, "code", "already exists"),
    (9, "ward", "nowhere"),
    (10, "status", "broken"),
    (11, "main_stream_url", "rtsp://"),
    (12, "location", "outside ward"),
    (13, "heading", "north"),
    (14, "heading", "nan"),
    (15, "fov_angle", " 1"),  # the lower bound (Django words it in the active language)
]
BAD_CSV = "\n".join(
    [
        HEADER,
        "ward-a,G1,Good north,106.77,10.85,online,rtsp://10.0.0.1/s1,90,",  # 2
        "ward-a,G2,Good south,106.79,10.83,,,,",  # 3
        "ward-a,M1,Missing coordinates,,,online,,,",  # 4
        "ward-a,S1,Swapped,10.85,106.77,,,,",  # 5
        "ward-a,F1,Paris,2.35,48.85,,,,",  # 6
        "ward-a,G1,Duplicate in file,106.78,10.84,,,,",  # 7
        "ward-a,OLD-1,Already in the database,106.78,10.84,,,,",  # 8
        "nowhere,U1,Unknown ward,106.78,10.84,,,,",  # 9
        "ward-a,B1,Bad status,106.78,10.84,broken,,,",  # 10
        "ward-a,P1,Local file,106.78,10.84,,file:///etc/passwd,,",  # 11
        "ward-a,X1,In ward B,106.72,10.80,,,,",  # 12
        "ward-a,H1,Bad heading,106.78,10.84,,,north,",  # 13
        "ward-a,H2,NaN heading,106.78,10.84,,,nan,",  # 14
        "ward-a,A0,No angle,106.78,10.84,,,,0",  # 15
    ]
).encode()

GOOD_CSV = "\n".join(
    [
        HEADER,
        "ward-a,G1,Cổng chợ,106.77,10.85,online,rtsp://cam:s3cret@10.0.0.1:554/s1,90,60",
        "ward-a,G2,Ngã tư,106.79,10.83,offline,,180,",
        ",G3,Default ward,106.78,10.845,,,,",
    ]
).encode()


def feature(lon: float, lat: float, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": props}


def geojson(*features: Any) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()


GOOD_GEOJSON = geojson(
    feature(106.77, 10.85, code="J1", name="Điểm 1", status="online", heading=45),
    feature(106.79, 10.83, code="J2", name="Điểm 2", programme="ai_centre", kind="ai"),
)


def assert_reported(report: Any, expected: list[tuple[int, str, str]]) -> None:
    found = [(e.line, e.column, e.message) for e in report.errors]
    for line, column, words in expected:
        assert any((fl, fc) == (line, column) and words.lower() in fm.lower() for fl, fc, fm in found), (
            f"line {line} column {column} ({words!r}) not reported; got {found}"
        )
    lines = {line for line, _c, _w in expected}
    assert {fl for fl, _c, _m in found} == lines, found


@pytest.fixture
def existing(ward_a: Any) -> Camera:
    return camera_in(ward_a.ward, code="OLD-1")


# -- import_file ---------------------------------------------------------------------------------


def test_bad_csv_reports_every_row_and_saves_nothing(ward_a: Any, ward_b: Any, existing: Camera) -> None:
    for dry_run in (True, False):
        report = import_file(
            data=BAD_CSV,
            filename="legacy.csv",
            wards=[ward_a.ward, ward_b.ward],
            actor=ward_a.users["admin"],
            dry_run=dry_run,
        )
        assert not report.ok
        assert report.rows == 14 and len(report.cameras) == 2 and report.saved == 0
        assert_reported(report, BAD_ROWS)
        assert list(Camera.objects.values_list("code", flat=True)) == ["OLD-1"]
    assert not AuditEntry.objects.filter(action="cameras_imported").exists()
    assert report.as_dict()["errors"][0] == {"line": 4, "column": "longitude/latitude", "message": report.errors[0].message}


def test_clean_csv_saves_every_row_with_old_ward_and_credentials_moved(ward_a: Any) -> None:
    dry = import_file(data=GOOD_CSV, filename="ok.csv", wards=[ward_a.ward], default_ward=ward_a.ward, actor=None)
    assert dry.ok and dry.rows == 3 and dry.saved == 0 and not Camera.objects.exists()
    report = import_file(
        data=GOOD_CSV,
        filename="ok.csv",
        wards=[ward_a.ward],
        default_ward=ward_a.ward,
        actor=ward_a.users["admin"],
        dry_run=False,
    )
    assert report.ok and report.saved == 3
    cameras = {c.code: c for c in Camera.objects.select_related("old_ward")}
    assert set(cameras) == {"G1", "G2", "G3"}
    assert cameras["G1"].old_ward.name == "A north" and cameras["G2"].old_ward.name == "A south"
    assert cameras["G3"].ward == ward_a.ward and cameras["G3"].old_ward.name == "A north"
    g1 = cameras["G1"]
    assert (g1.status, g1.heading, g1.fov_angle) == ("online", 90, 60)
    assert g1.main_stream_url == "rtsp://10.0.0.1:554/s1"
    assert (g1.stream_username, g1.stream_password) == ("cam", "s3cret")
    assert g1.fov.contains(g1.fov.centroid) and g1.fov.touches(g1.location)
    entry = AuditEntry.objects.get(action="cameras_imported")
    assert entry.detail["cameras"] == 3 and entry.detail["sha256"] == report.sha256 and entry.ward == ward_a.ward


def test_numbers_as_spreadsheets_write_them(ward_a: Any) -> None:
    data = "\n".join(
        [
            "code,name,longitude,latitude,cost_vnd,retention_days,analysis_fps",
            "N1,Dots,106.77,10.85,1.500.000,30.0,2.5",
            'N2,Commas,106.78,10.85,"2,750,000",14,',
            "N3,Half a day,106.79,10.85,,7.5,",
            "N4,Too long,106.79,10.85,,9999,",
            "N5,Too fast,106.79,10.85,,,120",
        ]
    ).encode()
    report = import_file(data=data, filename="n.csv", wards=[ward_a.ward], default_ward=ward_a.ward, actor=None)
    assert [(e.line, e.column) for e in report.errors] == [(4, "retention_days"), (5, "retention_days"), (6, "analysis_fps")]
    n1, n2 = report.cameras
    assert (n1.cost_vnd, n1.retention_days, n1.analysis_fps) == (1_500_000, 30, 2.5)
    assert n2.cost_vnd == 2_750_000 and n2.retention_days == 14


def test_clean_geojson_saves_every_feature(ward_a: Any) -> None:
    report = import_file(
        data=GOOD_GEOJSON, filename="cams.geojson", wards=[ward_a.ward], default_ward=ward_a.ward, actor=None, dry_run=False
    )
    assert report.ok and report.format == "geojson" and report.saved == 2
    j1, j2 = Camera.objects.select_related("old_ward").order_by("code")
    assert (j1.code, j1.old_ward.name, j1.heading, j1.status) == ("J1", "A north", 45, "online")
    assert (j2.code, j2.old_ward.name, j2.programme, j2.kind) == ("J2", "A south", "ai_centre", "ai")
    assert j1.location.coords == pytest.approx((106.77, 10.85))


def test_geojson_with_malformed_features(ward_a: Any) -> None:
    data = geojson(
        feature(106.77, 10.85, code="J1", name="Good"),
        {
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": [[106.77, 10.85], [106.78, 10.86]]},
            "properties": {"code": "L1", "name": "Line"},
        },
        "not a feature",
        {"type": "Feature", "geometry": None, "properties": {"code": "N1", "name": "No geometry"}},
        feature(106.78, 10.84, code="C1", name="Colour", colour="red"),
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": ["106.78", "10.84"]},
            "properties": {"code": "T1", "name": "Text"},
        },
    )
    report = import_file(
        data=data, filename="cams.geojson", wards=[ward_a.ward], default_ward=ward_a.ward, actor=None, dry_run=False
    )
    assert report.line_label == "feature" and report.rows == 6 and report.saved == 0
    assert_reported(
        report,
        [
            (2, "geometry", "Point"),
            (3, "feature", "not an object"),
            (4, "geometry", "Point"),
            (5, "properties", "colour"),
            (6, "geometry", "Point"),
        ],
    )
    # One clear message for a feature that is not an object, not a cascade of missing columns.
    assert [e.column for e in report.errors if e.line == 3] == ["feature"]
    assert not Camera.objects.exists()


@pytest.mark.parametrize(
    "filename,data,words",
    [
        ("cams.geojson", b"this is not json", "not valid JSON"),
        ("cams.json", b'{"type": "FeatureCollection", "features": [', "not valid JSON"),
        ("cams.geojson", b'[{"type": "Feature"}]', "FeatureCollection"),
        ("cams.geojson", b'{"type": "Feature", "features": []}', "FeatureCollection"),
        ("cams.geojson", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        ("cams.geojson", geojson(), "no cameras"),
        ("cams.csv", b"", "empty"),
        ("cams.csv", b"code,name,longitude,latitude,colour\nC1,x,106.78,10.84,red\n", "colour"),
        ("cams.csv", b"code,name,longitude,latitude\nC1,x,106.78,10.84,extra\n", "Line 2"),
        ("cams.csv", "code,name\nC1,Tên\n".encode("utf-16"), "UTF-8"),
    ],
)
def test_unreadable_files_get_one_clear_error(filename: str, data: bytes, words: str, ward_a: Any) -> None:
    with pytest.raises(ImportFileError) as caught:
        import_file(data=data, filename=filename, wards=[ward_a.ward], default_ward=ward_a.ward, actor=None, dry_run=False)
    assert words.lower() in str(caught.value).lower()
    assert not Camera.objects.exists()


# -- management command --------------------------------------------------------------------------


def run_command(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_cameras", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_command_dry_run_and_import(tmp_path: Path, ward_a: Any) -> None:
    path = tmp_path / "ok.csv"
    path.write_bytes(GOOD_CSV)
    out, _err = run_command(str(path), "--ward", "ward-a", "--dry-run")
    summary = json.loads(out)
    assert summary["rows"] == 3 and summary["valid_rows"] == 3 and summary["saved"] == 0
    assert not Camera.objects.exists()
    out, _err = run_command(str(path), "--ward", "ward-a")
    assert json.loads(out)["saved"] == 3
    assert Camera.objects.filter(ward=ward_a.ward, old_ward__isnull=False).count() == 3
    geo = tmp_path / "more.geojson"
    geo.write_bytes(GOOD_GEOJSON)
    out, _err = run_command(str(geo), "--ward", "ward-a")
    assert json.loads(out)["saved"] == 2 and Camera.objects.count() == 5


def test_command_with_errors_exits_non_zero_and_saves_nothing(tmp_path: Path, ward_a: Any, ward_b: Any, existing: Camera) -> None:
    path = tmp_path / "legacy.csv"
    path.write_bytes(BAD_CSV)
    err = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("import_cameras", str(path), stdout=io.StringIO(), stderr=err)
    assert "nothing saved" in str(caught.value)
    lines = err.getvalue().splitlines()
    for line, column, _words in BAD_ROWS:
        assert any(f"legacy.csv:line {line}: {column}:" in text for text in lines), (line, column, lines)
    assert list(Camera.objects.values_list("code", flat=True)) == ["OLD-1"]


def test_command_refuses_unknown_ward_missing_and_oversized_files(tmp_path: Path, ward_a: Any, settings: Any) -> None:
    path = tmp_path / "ok.csv"
    path.write_bytes(GOOD_CSV)
    with pytest.raises(CommandError, match="unknown ward 'nowhere'"):
        run_command(str(path), "--ward", "nowhere")
    with pytest.raises(CommandError, match="no such file"):
        run_command(str(tmp_path / "missing.csv"))
    settings.CAMERA_IMPORT_MAX_BYTES = 50
    with pytest.raises(CommandError, match="CAMERA_IMPORT_MAX_BYTES"):
        run_command(str(path), "--ward", "ward-a")
    notjson = tmp_path / "broken.geojson"
    notjson.write_bytes(b"<html>not json</html>")
    settings.CAMERA_IMPORT_MAX_BYTES = 10_000
    with pytest.raises(CommandError, match="not valid JSON"):
        run_command(str(notjson), "--ward", "ward-a")
    assert not Camera.objects.exists()


# -- the admin page ------------------------------------------------------------------------------


@pytest.fixture
def page(settings: Any, tmp_path: Path) -> str:
    settings.VAR_DIR = tmp_path  # pending uploads are kept under VAR_DIR/imports
    return reverse("camera-import")


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def upload(client: Client, url: str, name: str, data: bytes, **extra: Any) -> Any:
    return client.post(url, {"file": SimpleUploadedFile(name, data), **extra})


def test_page_is_for_admins_only(page: str, ward_a: Any) -> None:
    for role in ("official", "operator", "investigator"):
        client = signed_in(ward_a.users[role])
        assert client.get(page).status_code == 403, role
        assert upload(client, page, "ok.csv", GOOD_CSV).status_code == 403, role
    assert not Camera.objects.exists()
    assert signed_in(ward_a.users["admin"]).get(page).status_code == 200
    assert Client().get(page).status_code == 302  # to the sign-in page


def test_page_dry_run_then_import(page: str, ward_a: Any) -> None:
    client = signed_in(ward_a.users["admin"])
    response = upload(client, page, "ok.csv", GOOD_CSV, ward=ward_a.ward.pk)
    assert response.status_code == 200
    report = response.context["report"]
    assert report.ok and report.rows == 3 and report.saved == 0
    assert 'value="import"' in response.content.decode()
    assert not Camera.objects.exists(), "the first step is a dry run"
    response = client.post(page, {"step": "import"})
    assert response.status_code == 302 and response["Location"] == reverse("camera-list")
    assert set(Camera.objects.filter(ward=ward_a.ward).values_list("code", flat=True)) == {"G1", "G2", "G3"}
    assert AuditEntry.objects.filter(action="cameras_imported", actor=ward_a.users["admin"]).count() == 1
    # The pending file is used once: importing again does not duplicate.
    again = client.post(page, {"step": "import"})
    assert again.status_code == 200 and Camera.objects.count() == 3


def test_page_reports_bad_rows_and_a_real_run_saves_nothing(page: str, ward_a: Any, ward_b: Any, existing: Camera) -> None:
    client = signed_in(ward_a.users["admin"])
    response = upload(client, page, "legacy.csv", BAD_CSV)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'value="import"' not in body, "no import button for a file with errors"
    report = response.context["report"]
    assert_reported(report, BAD_ROWS)
    for error in report.errors:
        assert escape(error.message) in body, error
    response = client.post(page, {"step": "import"})
    assert response.status_code == 200
    assert_reported(response.context["report"], BAD_ROWS)
    assert list(Camera.objects.values_list("code", flat=True)) == ["OLD-1"]
    assert not AuditEntry.objects.filter(action="cameras_imported").exists()


def test_page_admin_of_one_ward_cannot_import_into_another(page: str, ward_a: Any, ward_b: Any) -> None:
    data = f"{HEADER}\nward-b,B1,Into ward B,106.72,10.80,,,,\n".encode()
    response = upload(signed_in(ward_a.users["admin"]), page, "b.csv", data)
    assert response.status_code == 200
    assert "Unknown ward “ward-b”" in response.content.decode()
    assert not Camera.objects.exists()


def test_page_refuses_unreadable_and_oversized_files(page: str, ward_a: Any, settings: Any) -> None:
    client = signed_in(ward_a.users["admin"])
    response = upload(client, page, "cams.geojson", b"not json at all")
    assert response.status_code == 200 and "not valid JSON" in response.content.decode()
    settings.CAMERA_IMPORT_MAX_BYTES = 100
    response = upload(client, page, "ok.csv", GOOD_CSV, ward=ward_a.ward.pk)
    assert response.status_code == 200
    assert f"The file is {len(GOOD_CSV)} bytes; the limit is 100." in response.content.decode()
    assert 'value="import"' not in response.content.decode()
    assert client.post(page, {"step": "import"}).status_code == 200
    assert not Camera.objects.exists()
