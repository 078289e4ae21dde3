"""Import of legacy cameras from CSV or GeoJSON: check every row, then save all rows or none.

CSV: a header row, then one camera per line. GeoJSON: a FeatureCollection of Point features
whose properties carry the same names. Columns (only ``code``, ``name`` and the position are
required): ``ward`` (slug; may be given once for the whole file), ``code``, ``name``, ``address``,
``longitude``/``lon``, ``latitude``/``lat``, ``heading``, ``fov_angle``, ``range_m``, ``kind``,
``programme``, ``status``, ``site`` (site code), ``sponsor`` (sponsor name), ``installed_on``
(YYYY-MM-DD), ``cost_vnd``, ``main_stream_url``, ``sub_stream_url``, ``retention_days``,
``analysis_fps``.

A row's errors name its line (CSV) or feature number (GeoJSON), the column and what to fix.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import math
from dataclasses import dataclass, field
from typing import Any

from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _

from cameras.models import Camera, Site, Sponsor
from cameras.services import validate_camera
from portal.models import Ward
from portal.services import audit

COLUMNS = {
    "ward",
    "code",
    "name",
    "address",
    "longitude",
    "latitude",
    "lon",
    "lat",
    "heading",
    "fov_angle",
    "range_m",
    "kind",
    "programme",
    "status",
    "site",
    "sponsor",
    "installed_on",
    "cost_vnd",
    "main_stream_url",
    "sub_stream_url",
    "retention_days",
    "analysis_fps",
}
FLOAT_FIELDS = ("heading", "fov_angle", "range_m", "analysis_fps")
INT_FIELDS = ("cost_vnd", "retention_days")
CHOICE_FIELDS = {"kind": Camera.Kind, "programme": Camera.Programme, "status": Camera.Status}
MAX_ROWS = 20_000


@dataclass
class RowError:
    line: int
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "message": self.message}


@dataclass
class ImportReport:
    format: str
    sha256: str
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    cameras: list[Camera] = field(default_factory=list)
    saved: int = 0
    line_label: str = "line"

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "sha256": self.sha256,
            "rows": self.rows,
            "valid_rows": len(self.cameras),
            "saved": self.saved,
            "errors": [e.as_dict() for e in self.errors],
        }


class ImportFileError(ValueError):
    """The file as a whole cannot be read; nothing in it was checked."""


def detect_format(filename: str, data: bytes) -> str:
    name = filename.lower()
    if name.endswith((".geojson", ".json")):
        return "geojson"
    if name.endswith(".csv"):
        return "csv"
    head = data.lstrip()[:1]
    return "geojson" if head in (b"{", b"[") else "csv"


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            _("The file is not UTF-8 text (byte %(pos)d). Save it as UTF-8 and try again.") % {"pos": exc.start}
        ) from exc


def parse_csv(data: bytes) -> list[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(_decode(data), newline=""))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if not header:
        raise ImportFileError(_("The CSV file is empty: it needs a header row with code, name, longitude, latitude."))
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise ImportFileError(
            _("Unknown column(s) %(cols)s in the header. Known columns: %(known)s.")
            % {"cols": ", ".join(unknown), "known": ", ".join(sorted(COLUMNS))}
        )
    reader.fieldnames = header
    rows = []
    for record in reader:
        if None in record:
            raise ImportFileError(_("Line %(line)d has more values than the header has columns.") % {"line": reader.line_num})
        if not any((v or "").strip() for v in record.values()):
            continue
        rows.append((reader.line_num, {k: (v or "").strip() for k, v in record.items()}))
    return rows


def parse_geojson(data: bytes) -> list[tuple[int, dict[str, Any]]]:
    try:
        doc = json.loads(_decode(data))
    except json.JSONDecodeError as exc:
        raise ImportFileError(
            _("The GeoJSON is not valid JSON: %(msg)s at line %(line)d, column %(col)d.")
            % {"msg": exc.msg, "line": exc.lineno, "col": exc.colno}
        ) from exc
    except RecursionError as exc:
        raise ImportFileError(_("The GeoJSON is nested too deeply to be a FeatureCollection of points.")) from exc
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        raise ImportFileError(_("The GeoJSON must be a FeatureCollection with a list of features."))
    rows: list[tuple[int, dict[str, Any]]] = []
    for number, feature in enumerate(doc["features"], start=1):
        if not isinstance(feature, dict):
            rows.append((number, {"__feature_error__": _("the feature is not an object")}))
            continue
        props = feature.get("properties") or {}
        geometry = feature.get("geometry") or {}
        record: dict[str, Any] = {str(k).lower(): v for k, v in props.items()} if isinstance(props, dict) else {}
        unknown = [k for k in record if k not in COLUMNS]
        if unknown:
            record["__error__"] = _("unknown properties %(cols)s") % {"cols": ", ".join(unknown)}
        coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
        if (
            not isinstance(geometry, dict)
            or geometry.get("type") != "Point"
            or not (isinstance(coords, list) and len(coords) >= 2 and all(isinstance(c, int | float) for c in coords[:2]))
        ):
            record["__geometry_error__"] = _("the geometry must be a Point with [longitude, latitude]")
        else:
            record["longitude"], record["latitude"] = coords[0], coords[1]
        rows.append((number, record))
    return rows


class RowChecker:
    """Turns one record into an unsaved, validated camera, or a list of errors."""

    def __init__(self, *, wards: list[Ward], default_ward: Ward | None) -> None:
        self.wards = {w.slug: w for w in wards}
        self.default_ward = default_ward
        ids = [w.pk for w in wards]
        self.sites = {(s.ward_id, s.code): s for s in Site.objects.filter(ward_id__in=ids)}
        self.sponsors = {(s.ward_id, s.name.lower()): s for s in Sponsor.objects.filter(ward_id__in=ids)}
        self.existing = set(Camera.objects.filter(ward_id__in=ids).values_list("ward_id", "code"))
        self.seen: dict[tuple[int, str], int] = {}

    def check(self, line: int, record: dict[str, Any]) -> tuple[Camera | None, list[RowError]]:
        errors: list[RowError] = []

        def err(column: str, message: str) -> None:
            errors.append(RowError(line, column, message))

        if "__feature_error__" in record:
            # Nothing else can be read from it: one message, not one per missing column.
            err("feature", record["__feature_error__"])
            return None, errors
        if "__error__" in record:
            err("properties", record.pop("__error__"))
        if "__geometry_error__" in record:
            err("geometry", record.pop("__geometry_error__"))
        values = {k: ("" if v is None else str(v).strip()) for k, v in record.items()}

        slug = values.get("ward", "")
        ward = self.wards.get(slug) if slug else self.default_ward
        if ward is None:
            err(
                "ward",
                _("Unknown ward “%(slug)s”: use the slug of a ward you administer.") % {"slug": slug}
                if slug
                else _("No ward: add a ward column or choose the ward for the whole file."),
            )
        code = values.get("code", "")
        if not code:
            err("code", _("The camera code is missing."))
        if not values.get("name"):
            err("name", _("The camera name is missing."))

        lon_text = values.get("longitude") or values.get("lon", "")
        lat_text = values.get("latitude") or values.get("lat", "")
        location = None
        if "__geometry_error__" not in record and not any(e.column == "geometry" for e in errors):
            if not lon_text or not lat_text:
                err("longitude/latitude", _("The coordinates are missing: give longitude and latitude in degrees."))
            else:
                try:
                    location = Point(float(lon_text), float(lat_text), srid=4326)
                except ValueError:
                    err("longitude/latitude", _("Coordinates must be numbers in degrees, e.g. 106.78 and 10.84."))

        camera = Camera(code=code, name=values.get("name", ""), address=values.get("address", ""))
        camera.location = location  # type: ignore[assignment]
        if ward is not None:
            camera.ward = ward
        for name in FLOAT_FIELDS + INT_FIELDS:
            raw = values.get(name, "")
            if not raw:
                continue
            number: float | int
            try:
                if name in FLOAT_FIELDS:
                    number = float(raw)
                elif name == "cost_vnd":  # amounts may carry thousands separators: 1.500.000 or 1,500,000
                    number = int(raw.replace(".", "").replace(",", ""))
                else:  # a whole number, also when a spreadsheet wrote it as 30.0
                    whole = float(raw)
                    if not whole.is_integer():
                        raise ValueError(raw)
                    number = int(whole)
            except ValueError:
                err(name, _("“%(value)s” is not a number.") % {"value": raw})
                continue
            if not math.isfinite(number):
                err(name, _("“%(value)s” is not a number.") % {"value": raw})
                continue
            # Ranges are checked here, before the field of view is drawn from them.
            model_field = Camera._meta.get_field(name)
            assert isinstance(model_field, models.Field)
            try:
                model_field.run_validators(number)
            except ValidationError as exc:
                for message in exc.messages:
                    err(name, message)
                continue
            setattr(camera, name, number)
        for name, choices in CHOICE_FIELDS.items():
            raw = values.get(name, "").lower()
            if not raw:
                continue
            if raw not in choices.values:
                err(
                    name,
                    _("“%(value)s” is not allowed; use one of %(allowed)s.")
                    % {"value": raw, "allowed": ", ".join(choices.values)},
                )
            else:
                setattr(camera, name, raw)
        if values.get("installed_on"):
            try:
                camera.installed_on = dt.date.fromisoformat(values["installed_on"])
            except ValueError:
                err("installed_on", _("Write the date as YYYY-MM-DD."))
        camera.main_stream_url = values.get("main_stream_url", "")
        camera.sub_stream_url = values.get("sub_stream_url", "")
        if ward is not None:
            if values.get("site"):
                camera.site = self.sites.get((ward.pk, values["site"]))
                if camera.site is None:
                    err(
                        "site",
                        _("No AI site with code “%(code)s” in ward %(ward)s.") % {"code": values["site"], "ward": ward.slug},
                    )
            if values.get("sponsor"):
                camera.sponsor = self.sponsors.get((ward.pk, values["sponsor"].lower()))
                if camera.sponsor is None:
                    err(
                        "sponsor",
                        _("No sponsor named “%(name)s” in ward %(ward)s.") % {"name": values["sponsor"], "ward": ward.slug},
                    )
            if code:
                key = (ward.pk, code)
                if key in self.existing:
                    err("code", _("Camera code %(code)s already exists in ward %(ward)s.") % {"code": code, "ward": ward.slug})
                elif key in self.seen:
                    err(
                        "code",
                        _("Camera code %(code)s appears twice in the file (first at %(first)d).")
                        % {"code": code, "first": self.seen[key]},
                    )
                else:
                    self.seen[key] = line

        if ward is not None and location is not None and not errors:
            try:
                validate_camera(camera, exclude_unique=True)
            except ValidationError as exc:
                for column, messages in exc.message_dict.items():
                    for message in messages:
                        err(column, message)
        return (None if errors else camera), errors


def check_file(*, data: bytes, filename: str, wards: list[Ward], default_ward: Ward | None = None) -> ImportReport:
    fmt = detect_format(filename, data)
    report = ImportReport(
        format=fmt, sha256=hashlib.sha256(data).hexdigest(), line_label="feature" if fmt == "geojson" else "line"
    )
    rows = parse_geojson(data) if fmt == "geojson" else parse_csv(data)
    if len(rows) > MAX_ROWS:
        raise ImportFileError(_("The file has %(n)d rows; import at most %(max)d at a time.") % {"n": len(rows), "max": MAX_ROWS})
    if not rows:
        raise ImportFileError(_("The file has no cameras in it."))
    checker = RowChecker(wards=wards, default_ward=default_ward)
    report.rows = len(rows)
    for line, record in rows:
        camera, errors = checker.check(line, record)
        report.errors.extend(errors)
        if camera is not None:
            report.cameras.append(camera)
    return report


def import_file(
    *,
    data: bytes,
    filename: str,
    wards: list[Ward],
    actor: Any,
    default_ward: Ward | None = None,
    dry_run: bool = True,
    request: Any = None,
) -> ImportReport:
    """Check the whole file; unless ``dry_run`` and only when every row is good, save them all."""
    report = check_file(data=data, filename=filename, wards=wards, default_ward=default_ward)
    if dry_run or not report.ok:
        return report
    with transaction.atomic():
        for camera in report.cameras:
            camera.save()
        for ward_id in sorted({c.ward_id for c in report.cameras}):
            count = sum(1 for c in report.cameras if c.ward_id == ward_id)
            audit(
                action="cameras_imported",
                actor=actor,
                ward=ward_id,
                detail={"file": filename[:200], "sha256": report.sha256, "cameras": count},
                ip=request.META.get("REMOTE_ADDR") if request is not None else None,
            )
    report.saved = len(report.cameras)
    return report
