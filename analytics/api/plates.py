"""Plate reads: ``/api/plate-reads/`` (list, search, ``POST`` from edge cameras, add to a case) and
``/api/plate-route/`` (one plate's sightings as a path on the map).

Listing the reads of a clip or a camera is for the roles that see analysis results. *Searching* by
plate is for investigators and admins only, over their own wards, with a ``reason`` and a bounded
time window, and every search is audited (DESIGN.md §3, §6, §7). Writing reads is for operators and
admins of the camera's ward (an edge camera posts with such an account's token); a batch is checked
whole before anything is written.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import django_filters
from django.conf import settings
from django.contrib.gis.geos import GEOSException, GEOSGeometry, LineString
from django.db.models import Count, F, Max, Min, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, permissions, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.api.results import ImageRenderer, ResultFilterSet, _crop_response
from analytics.models import PlateRead, TrackClass
from analytics.plates.grammar import parse
from analytics.plates.search import MATCH_MODES, PatternError, match_filter
from analytics.plates.store import ReadIn, image_extension, ingest_reads, record_search
from cameras.models import Camera
from portal.api.base import WardScopedViewSet, find_own_ward
from portal.querysets import CHANGE, roles_for, ward_ids_for
from portal.services import audit, client_ip

#: Who may search plates and follow routes (DESIGN.md §3).
SEARCH_ROLES = frozenset({"investigator", "admin"})
MAX_WINDOW_DAYS = 93
MAX_BATCH = 1000
OLDEST_READ = dt.timedelta(days=366)
MAX_ROUTE_POINTS = 5000
MAX_GROUPS = 200
FUTURE_SLACK = dt.timedelta(minutes=10)
CLIENT_ID = re.compile(r"^[A-Za-z0-9._:/-]{1,64}$")
READ_FIELDS = ("camera", "plate", "seen_at", "confidence", "client_id", "vehicle_class", "origin", "image")
ORIGINS_IN = ("edge", "manual")


# --- Searching -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlateSearch:
    """A checked search: what to match, the window, where; ``apply`` narrows a queryset to it."""

    plate: str
    match: str
    key: str
    lookup: dict[str, Any]
    since: dt.datetime
    until: dt.datetime
    reason: str
    ward_ids: list[int] | None  # None: every ward (a platform superuser)
    camera_ids: list[int] | None
    area: GEOSGeometry | None

    def apply(self, queryset: QuerySet) -> QuerySet:
        queryset = queryset.filter(seen_at__gte=self.since, seen_at__lt=self.until, **self.lookup)
        if self.ward_ids is not None:
            queryset = queryset.filter(ward_id__in=self.ward_ids)
        if self.camera_ids is not None:
            queryset = queryset.filter(camera_id__in=self.camera_ids)
        if self.area is not None:
            queryset = queryset.filter(camera__location__intersects=self.area)
        return queryset

    def audit_query(self) -> dict[str, Any]:
        return {
            "plate": self.plate[:40],
            "match": self.match,
            "key": self.key[:40],
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "cameras": self.camera_ids,
            "area": self.area.geojson if self.area is not None else None,
        }


def is_search(request: Request) -> bool:
    params = request.query_params
    return any(name in params for name in ("plate", "match", "reason", "cameras", "area"))


def _when(raw: str | None, name: str, errors: dict[str, list[str]]) -> dt.datetime | None:
    if not raw:
        errors[name] = [_("Give the start and end of the time window (since and until), e.g. 2026-03-01T00:00:00+07:00.")]
        return None
    # An offset written "+07:00" in a URL without encoding arrives as " 07:00".
    text = re.sub(r"(T[\d:.]+) (\d\d:?\d\d)$", r"\1+\2", raw.strip())
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        errors[name] = [_("Not a date and time: give ISO 8601, e.g. 2026-03-01T08:00:00+07:00.")]
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value)  # the ward's time (Asia/Ho_Chi_Minh)
    return value


def _search_wards(request: Request) -> list[int] | None:
    scope = ward_ids_for(request.user, SEARCH_ROLES)
    if scope is not None and not scope:
        raise exceptions.PermissionDenied(_("Plate search is for investigators and admins."))
    ward_param = request.query_params.get("ward")
    if ward_param:
        ward = find_own_ward(request, ward_param)
        if scope is not None and ward.pk not in scope:
            raise exceptions.ValidationError({"ward": [_("You do not search plates in ward %(ward)s.") % {"ward": ward.slug}]})
        return [ward.pk]
    return scope


def _cameras(request: Request, ward_ids: list[int] | None, errors: dict[str, list[str]]) -> list[int] | None:
    given = [part.strip() for value in request.query_params.getlist("cameras") for part in value.split(",")]
    given = [part for part in given if part]
    if not given:
        return None
    ids = {int(part) for part in given if part.isdigit()}
    codes = {part for part in given if not part.isdigit()}
    cameras = Camera.objects.filter(Q(pk__in=ids) | Q(code__in=codes))
    if ward_ids is not None:
        cameras = cameras.filter(ward_id__in=ward_ids)
    found = list(cameras.values_list("pk", "code"))
    missing = sorted((ids - {pk for pk, _code in found}), key=str) + sorted(codes - {code for _pk, code in found})
    if missing:
        errors["cameras"] = [
            _("No camera %(cameras)s among the cameras you may search.") % {"cameras": ", ".join(map(str, missing))}
        ]
        return None
    return sorted({pk for pk, _code in found})


def _area(raw: str | None, errors: dict[str, list[str]]) -> GEOSGeometry | None:
    if not raw:
        return None
    message = _("Give the area as a GeoJSON Polygon in longitude/latitude whose rings close (last point = first).")
    try:
        data = json.loads(raw)
    except ValueError:
        errors["area"] = [message]
        return None
    if not isinstance(data, dict) or data.get("type") not in ("Polygon", "MultiPolygon"):
        errors["area"] = [message]
        return None
    coordinates: Any = data.get("coordinates")
    polygons: Any = [coordinates] if data["type"] == "Polygon" else coordinates
    try:
        rings = [ring for polygon in polygons for ring in polygon]
        closed = bool(rings) and all(
            len(ring) >= 4 and [float(v) for v in ring[0][:2]] == [float(v) for v in ring[-1][:2]] for ring in rings
        )
    except (TypeError, ValueError, IndexError):
        closed = False
    if not closed:
        errors["area"] = [message]
        return None
    try:
        area = GEOSGeometry(json.dumps(data), srid=4326)
    except (GEOSException, ValueError, TypeError):
        errors["area"] = [message]
        return None
    if not area.valid:
        errors["area"] = [_("The area crosses itself (%(why)s): draw it again.") % {"why": area.valid_reason}]
        return None
    return area


def parse_search(request: Request, *, modes: Sequence[str] = MATCH_MODES) -> PlateSearch:
    """Check every parameter of a search at once; a 400 names each one that is wrong."""
    ward_ids = _search_wards(request)
    params = request.query_params
    errors: dict[str, list[str]] = {}
    match = params.get("match") or "exact"
    if match not in modes:
        errors["match"] = [_("Choose one of: %(modes)s.") % {"modes": ", ".join(modes)}]
    plate = (params.get("plate") or "").strip()
    found = None
    if not plate:
        errors["plate"] = [_("Give the plate to search for, e.g. 51F-123.45 (or a pattern such as 51F-* with match=partial).")]
    elif len(plate) > 40:
        errors["plate"] = [_("A plate has at most 40 characters.")]
    elif "match" not in errors:
        try:
            found = match_filter(plate, match)
        except PatternError as exc:
            errors["plate"] = [str(exc)]
    reason = (params.get("reason") or "").strip()
    if not reason:
        errors["reason"] = [_("Say why you search (a case number or the reason): every plate search is audited.")]
    elif len(reason) > 500:
        errors["reason"] = [_("Keep the reason under 500 characters.")]
    since = _when(params.get("since"), "since", errors)
    until = _when(params.get("until"), "until", errors)
    if since and until:
        if since >= until:
            errors["until"] = [_("The window ends before it starts: until must be after since.")]
        elif until - since > dt.timedelta(days=MAX_WINDOW_DAYS):
            errors["until"] = [
                _("A search covers at most %(days)d days: narrow the window or search it in parts.") % {"days": MAX_WINDOW_DAYS}
            ]
    camera_ids = _cameras(request, ward_ids, errors)
    area = _area(params.get("area"), errors)
    if errors or found is None or since is None or until is None:
        raise exceptions.ValidationError(errors)
    return PlateSearch(plate, match, found.key, found.lookup, since, until, reason, ward_ids, camera_ids, area)


# --- Writing -------------------------------------------------------------------------------------


def _decode_image(value: Any) -> tuple[bytes | None, str | None]:
    if value in (None, ""):
        return None, None
    if hasattr(value, "read"):
        if value.size > settings.PLATE_IMAGE_MAX_BYTES:
            return None, _too_big()
        data = value.read()
    elif isinstance(value, str):
        text = value.split(",", 1)[1] if value.startswith("data:") else value
        if len(text) > settings.PLATE_IMAGE_MAX_BYTES * 4 // 3 + 8:
            return None, _too_big()
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            return None, _("Send the image as base64 (or as a file in a multipart form).")
    else:
        return None, _("Send the image as base64 (or as a file in a multipart form).")
    if not data:
        return None, _("The image is empty.")
    if len(data) > settings.PLATE_IMAGE_MAX_BYTES:
        return None, _too_big()
    if image_extension(data) is None:
        return None, _("The image is neither a JPEG nor a PNG.")
    return data, None


def _too_big() -> str:
    return _("The image is larger than %(kib)d KiB: send the plate's crop, not the whole frame.") % {
        "kib": settings.PLATE_IMAGE_MAX_BYTES // 1024
    }


def _check_read(item: Any, now: dt.datetime) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """One read's fields, checked without the database (cameras are looked up for the whole batch)."""
    if not isinstance(item, dict):
        return {}, {"non_field_errors": [_("Each read is an object with camera, plate, seen_at and confidence.")]}
    errors: dict[str, list[str]] = {}
    for name in sorted(set(item) - set(READ_FIELDS)):
        errors[name] = [_("Unknown field. Known fields: %(fields)s.") % {"fields": ", ".join(sorted(READ_FIELDS))}]
    out: dict[str, Any] = {}
    for name in ("camera", "plate", "seen_at", "confidence"):
        if item.get(name) in (None, ""):
            errors[name] = [_("This field is required.")]
    camera = item.get("camera")
    if camera not in (None, ""):
        if isinstance(camera, bool) or not isinstance(camera, int | str):
            errors["camera"] = [_("Give the camera's id or code.")]
        else:
            out["camera"] = camera
    plate = item.get("plate")
    if plate not in (None, ""):
        if not isinstance(plate, str) or len(plate) > 32:
            errors["plate"] = [_("Give the plate as read, at most 32 characters.")]
        elif not any(c.isalnum() for c in plate):
            errors["plate"] = [_("Give a plate with letters or digits, e.g. 51F-123.45.")]
        elif parse(plate) is None:
            errors["plate"] = [
                _("“%(plate)s” is not a Vietnamese plate (e.g. 51F-123.45, 59-X1 234.56): send only reads of plates.")
                % {"plate": plate[:32]}
            ]
        else:
            out["plate"] = plate.strip()
    seen_at = item.get("seen_at")
    if seen_at not in (None, ""):
        try:
            when = dt.datetime.fromisoformat(seen_at) if isinstance(seen_at, str) else None
        except ValueError:
            when = None
        if when is None:
            errors["seen_at"] = [_("Not a date and time: give ISO 8601 with its offset, e.g. 2026-03-01T08:00:00+07:00.")]
        elif timezone.is_naive(when):
            errors["seen_at"] = [_("Add the UTC offset (e.g. +07:00 or Z): a time without one is ambiguous.")]
        elif when > now + FUTURE_SLACK:
            errors["seen_at"] = [_("This time is in the future: check the camera's clock.")]
        elif when < now - OLDEST_READ:
            errors["seen_at"] = [_("This time is more than a year ago: check the camera's clock.")]
        else:
            out["seen_at"] = when
    confidence: Any = item.get("confidence")
    if confidence not in (None, ""):
        try:
            value = float(confidence)
        except (TypeError, ValueError):
            value = -1.0
        if isinstance(confidence, bool) or not 0 <= value <= 1:
            errors["confidence"] = [_("Give the confidence as a number from 0 to 1.")]
        else:
            out["confidence"] = value
    client_id = item.get("client_id")
    if client_id not in (None, ""):
        if not isinstance(client_id, str) or not CLIENT_ID.match(client_id):
            errors["client_id"] = [_("Up to 64 letters, digits and . _ : / - (your own id of the read).")]
        else:
            out["client_id"] = client_id
    vehicle_class = item.get("vehicle_class") or ""
    if vehicle_class and vehicle_class not in TrackClass.values:
        errors["vehicle_class"] = [_("Choose one of: %(choices)s.") % {"choices": ", ".join(TrackClass.values)}]
    out["vehicle_class"] = vehicle_class
    origin = item.get("origin") or "edge"
    if origin not in ORIGINS_IN:
        errors["origin"] = [_("Choose one of: %(choices)s.") % {"choices": ", ".join(ORIGINS_IN)}]
    out["origin"] = origin
    image, problem = _decode_image(item.get("image"))
    if problem:
        errors["image"] = [problem]
    out["image"] = image
    return out, errors


def _resolve_cameras(refs: list[Any], ward_ids: list[int] | None) -> dict[Any, Camera | str]:
    """Each camera reference (id or code) → the camera, or why it is refused; one query for the batch."""
    ids = {int(r) for r in refs if isinstance(r, int) or (isinstance(r, str) and r.isdigit())}
    codes = {r for r in refs if isinstance(r, str) and not r.isdigit()}
    cameras = Camera.objects.filter(Q(pk__in=ids) | Q(code__in=codes)).only("id", "ward_id", "code")
    if ward_ids is not None:
        cameras = cameras.filter(ward_id__in=ward_ids)
    by_id: dict[int, Camera] = {}
    by_code: dict[str, list[Camera]] = {}
    for camera in cameras:
        by_id[camera.pk] = camera
        by_code.setdefault(camera.code, []).append(camera)
    out: dict[Any, Camera | str] = {}
    for ref in refs:
        if isinstance(ref, int) or ref.isdigit():
            out[ref] = by_id.get(int(ref)) or _("No camera with id %(id)s in your wards.") % {"id": ref}
        else:
            matches = by_code.get(ref, [])
            if len(matches) == 1:
                out[ref] = matches[0]
            elif matches:
                out[ref] = _("Several of your cameras have code %(code)s: give the camera id.") % {"code": ref}
            else:
                out[ref] = _("No camera with code %(code)s in your wards.") % {"code": ref}
    return out


def check_batch(items: list[Any], user: Any) -> list[ReadIn]:
    """Every read of the batch checked; any problem → one 400 naming each read (by index) and field."""
    now = timezone.now()
    checked = [_check_read(item, now) for item in items]
    refs = list(dict.fromkeys(values["camera"] for values, _errors in checked if "camera" in values))
    cameras = _resolve_cameras(refs, ward_ids_for(user, roles_for(PlateRead, CHANGE)))
    reads: list[ReadIn] = []
    problems: dict[str, dict[str, list[str]]] = {}
    first_with: dict[str, int] = {}
    for index, (values, errors) in enumerate(checked):
        camera = cameras.get(values.get("camera"))
        if isinstance(camera, str):
            errors["camera"] = [camera]
        client_id = values.get("client_id")
        if client_id is not None:
            if client_id in first_with:
                errors["client_id"] = [
                    _("Read %(index)s of this batch has the same client_id: give each read its own.")
                    % {"index": first_with[client_id]}
                ]
            first_with.setdefault(client_id, index)
        if errors:
            problems[str(index)] = errors
            continue
        assert isinstance(camera, Camera)
        reads.append(ReadIn(camera=camera, **{k: v for k, v in values.items() if k != "camera"}))
    if problems:
        raise exceptions.ValidationError(problems)
    return reads


# --- The endpoints -------------------------------------------------------------------------------


class PlateReadFilterSet(ResultFilterSet):
    since = django_filters.IsoDateTimeFilter(field_name="seen_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="seen_at", lookup_expr="lt")

    class Meta:
        model = PlateRead
        fields = ["ward", "camera", "job"]


READ_COLUMNS = (
    "id", "ward_id", "camera_id", "job_id", "track_id", "source", "key", "model", "plate", "text", "search_key",
    "confidence", "seen_at", "vehicle_class", "origin", "crop",
)  # fmt: skip


class PlateReadSerializer(serializers.ModelSerializer):
    ward = serializers.CharField(source="ward_slug", read_only=True)
    camera_code = serializers.CharField(source="camera.code", read_only=True, default=None)
    crop = serializers.SerializerMethodField()
    client_id = serializers.SerializerMethodField()

    class Meta:
        model = PlateRead
        fields = [
            "id", "ward", "camera", "camera_code", "job", "track", "model", "plate", "text", "search_key",
            "confidence", "seen_at", "vehicle_class", "origin", "client_id", "crop",
        ]  # fmt: skip

    def get_crop(self, obj: PlateRead) -> str | None:
        return reverse("api:plateread-crop", args=[obj.pk]) if obj.crop else None

    def get_client_id(self, obj: PlateRead) -> str | None:
        return obj.key if obj.source.startswith("client:") and not obj.key.startswith("~") else None


class PlateReadInSerializer(serializers.Serializer):
    """One read from an edge camera (the schema of ``POST``; a list of these is accepted too)."""

    camera = serializers.CharField(help_text="Camera id, or its code.")
    plate = serializers.CharField(max_length=32, help_text="The plate as read, e.g. 51F-123.45.")
    seen_at = serializers.DateTimeField(help_text="ISO 8601 with its UTC offset.")
    confidence = serializers.FloatField(min_value=0, max_value=1)
    client_id = serializers.CharField(required=False, help_text="Your id of the read: sending it again stores nothing new.")
    vehicle_class = serializers.ChoiceField(choices=TrackClass.choices, required=False)
    origin = serializers.ChoiceField(choices=ORIGINS_IN, required=False, default="edge")
    image = serializers.CharField(required=False, help_text="The plate's crop: base64 JPEG or PNG (or a file, multipart).")


class AddToCaseSerializer(serializers.Serializer):
    case = serializers.IntegerField()
    reads = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=200)
    margin_s = serializers.IntegerField(min_value=1, default=30, help_text="Seconds of footage before and after each sighting.")
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


SEARCH_PARAMETERS = [
    OpenApiParameter("plate", str, description="Plate, or a pattern with * and ? when match=partial."),
    OpenApiParameter("match", str, enum=list(MATCH_MODES), description="exact (default), partial or fuzzy (one edit)."),
    OpenApiParameter("reason", str, description="Why you search: required with plate, audited."),
    OpenApiParameter("since", OpenApiTypes.DATETIME, description="Window start (required with plate)."),
    OpenApiParameter("until", OpenApiTypes.DATETIME, description="Window end, at most 93 days after since."),
    OpenApiParameter("cameras", str, description="Camera ids or codes, comma-separated or repeated."),
    OpenApiParameter("area", str, description="GeoJSON Polygon: only cameras inside it."),
    OpenApiParameter("group", str, enum=["plate"], description="Add a summary per plate text."),
]


GROUP_COLUMNS = ("id", "text", "camera_id", "seen_at", "confidence")
SEARCH_SCAN = 5000


def group_rows(rows: Sequence[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Rows of ``GROUP_COLUMNS`` summed up per plate text, most sightings first (as ``_groups`` in SQL)."""
    groups: dict[str, dict[str, Any]] = {}
    cameras: dict[str, set[Any]] = {}
    for _pk, text, camera, seen_at, confidence in rows:
        group = groups.get(text)
        if group is None:
            group = groups[text] = {"text": text, "reads": 0, "first_seen": seen_at, "last_seen": seen_at, "best": confidence}
            cameras[text] = set()
        group["reads"] += 1
        group["first_seen"] = min(group["first_seen"], seen_at)
        group["last_seen"] = max(group["last_seen"], seen_at)
        group["best"] = max(group["best"], confidence)
        if camera is not None:
            cameras[text].add(camera)
    for text, group in groups.items():
        group["cameras"] = len(cameras[text])
    return sorted(groups.values(), key=lambda g: (-g["reads"], g["text"]))[:MAX_GROUPS]


class PlateReadViewSet(WardScopedViewSet):
    """Licence plates read by the ward's cameras, clips and edge cameras, newest first.

    ``?plate=`` searches (investigators and admins; ``reason``, ``since`` and ``until`` required):
    ``match=exact`` compares search keys (separators and OCR look-alikes do not matter),
    ``match=partial`` takes ``*`` and ``?`` wildcards, ``match=fuzzy`` also finds plates one
    character away. ``POST`` takes one read or a list (operators and admins of the camera's ward).
    """

    http_method_names = ["get", "head", "options", "post"]
    # The ward's slug as a column: select_related("ward") with its boundary deferred costs more Python
    # (the deferral walks the ward's many reverse relations) than the whole search in SQL.
    queryset = (
        PlateRead.objects.select_related("camera")
        .only(*READ_COLUMNS, "camera__code")
        .annotate(ward_slug=F("ward__slug"))
        .order_by("-seen_at", "-id")
    )
    serializer_class = PlateReadSerializer
    filterset_class = PlateReadFilterSet
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(parameters=SEARCH_PARAMETERS)
    def list(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        if not is_search(request):
            response = super().list(request, *args, **kwargs)
            if response.status_code == 200:  # a plain list (by clip, camera or time) is audited too
                audit(
                    action="plate_reads_listed",
                    actor=request.user,
                    detail={"query": request.GET.urlencode()[:300]},
                    ip=client_ip(request),
                )
            return response
        search = parse_search(request)
        queryset = search.apply(self.filter_queryset(self.get_queryset()))
        grouped = request.query_params.get("group") == "plate"
        # One scan for what a search usually finds (a few to a few thousand sightings): the matches'
        # ids and group columns, then the page by id. Counting, paging and grouping in SQL would scan
        # the matches three times; that is kept for the rare search that finds more.
        found = list(queryset.values_list(*GROUP_COLUMNS)[: SEARCH_SCAN + 1])
        if len(found) <= SEARCH_SCAN:
            page = self.paginate_queryset([row[0] for row in found])  # type: ignore[arg-type]
            by_id = {read.pk: read for read in self.get_queryset().filter(pk__in=page or [])}
            page = [by_id[pk] for pk in page or [] if pk in by_id]
        else:
            page = self.paginate_queryset(queryset)
        data = self.get_serializer(page, many=True).data
        response = self.get_paginated_response(data)
        count = self.paginator.page.paginator.count  # type: ignore[attr-defined]
        response.data["search"] = {"match": search.match, "key": search.key, "since": search.since, "until": search.until}
        if grouped:
            response.data["groups"] = group_rows(found) if len(found) <= SEARCH_SCAN else self._groups(queryset)
        record_search(
            actor=request.user,
            request=request,
            action="plate_search",
            reason=search.reason,
            query=search.audit_query(),
            count=count,
            ward_ids=self._scope(search),
        )
        return response

    def _scope(self, search: PlateSearch) -> Sequence[int]:
        if search.ward_ids is not None:
            return search.ward_ids
        return list(self.get_queryset().values_list("ward_id", flat=True).distinct())

    def _groups(self, queryset: QuerySet) -> Sequence[dict[str, Any]]:
        rows = (
            queryset.order_by()
            .values("text")
            .annotate(
                reads=Count("id"),
                cameras=Count("camera", distinct=True),
                first_seen=Min("seen_at"),
                last_seen=Max("seen_at"),
                best=Max("confidence"),
            )
            .order_by("-reads", "text")[:MAX_GROUPS]
        )
        return list(rows)

    @extend_schema(request=PlateReadInSerializer, responses={201: PlateReadSerializer})
    def create(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        body = request.data
        single = not isinstance(body, list)
        if single:
            item = dict(body.items()) if hasattr(body, "items") else body
            if hasattr(body, "getlist") and "image" in request.FILES:
                item["image"] = request.FILES["image"]
            items = [item]
        else:
            items = body
        if not items:
            raise exceptions.ValidationError({"non_field_errors": [_("Send at least one read.")]})
        if len(items) > MAX_BATCH:
            raise exceptions.ValidationError({"non_field_errors": [_("Send at most %(n)d reads at a time.") % {"n": MAX_BATCH}]})
        try:
            reads = check_batch(items, request.user)
        except exceptions.ValidationError as exc:
            if single and isinstance(exc.detail, dict) and "0" in exc.detail:
                raise exceptions.ValidationError(exc.detail["0"]) from None
            raise
        result = ingest_reads(reads=reads, actor=request.user, request=request)
        if single:
            # The sender may be an operator, who cannot list reads: answer with the row just written
            # (in a ward they post to), without opening the list to them.
            read = self.queryset.get(pk=result.ids[0])
            code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
            return Response(self.get_serializer(read).data, status=code)
        return Response({"ids": result.ids, "created": len(result.created), "existing": result.existing}, status=201)

    @extend_schema(responses={(200, "image/*"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"], renderer_classes=[ImageRenderer])
    def crop(self, request: Request, pk: str | None = None) -> Any:
        """The plate's image as the camera saw it."""
        return _crop_response(self.get_object())

    @extend_schema(
        request=AddToCaseSerializer,
        responses={201: inline_serializer("AddedToCase", {"evidence": serializers.ListField(child=serializers.IntegerField())})},
    )
    @action(detail=False, methods=["post"], url_path="add-to-case", permission_classes=[permissions.IsAuthenticated])
    def add_to_case(self, request: Request) -> Response:
        """Link sightings to a case and request the clips around each (±``margin_s``, default 30 s) as evidence."""
        from incidents.models import Incident
        from incidents.services import add_sightings

        body = AddToCaseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        wards = ward_ids_for(request.user, SEARCH_ROLES)
        if wards is not None and not wards:
            raise exceptions.PermissionDenied(_("Adding sightings to a case is for investigators and admins."))
        cases = Incident.objects.restrict(request.user, CHANGE)
        if wards is not None:
            cases = cases.filter(ward_id__in=wards)
        case = cases.filter(pk=body.validated_data["case"]).first()
        if case is None:
            raise exceptions.ValidationError({"case": [_("No such case in your wards.")]})
        wanted = list(dict.fromkeys(body.validated_data["reads"]))
        reads = list(PlateRead.objects.filter(pk__in=wanted, ward_id=case.ward_id).select_related("camera"))
        missing = sorted(set(wanted) - {r.pk for r in reads})
        if missing:
            raise exceptions.ValidationError(
                {"reads": [_("Not sightings of the case's ward: %(ids)s.") % {"ids": ", ".join(map(str, missing))}]}
            )
        evidence = add_sightings(
            case=case,
            reads=reads,
            margin_s=body.validated_data["margin_s"],
            actor=request.user,
            reason=body.validated_data["reason"],
            request=request,
        )
        return Response({"case": case.pk, "evidence": [getattr(e, "pk", e) for e in evidence or []]}, status=201)


class PlateRouteView(APIView):
    """One plate's sightings in a window as GeoJSON: Points in time order (camera, time, text, confidence,
    crop, seconds since the previous sighting) and a LineString of the path. Investigators and admins;
    ``reason`` required and audited, like a search. ``match`` is ``exact`` (default) or ``fuzzy``."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        parameters=[p for p in SEARCH_PARAMETERS if p.name not in ("group",)],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        search = parse_search(request, modes=("exact", "fuzzy"))
        reads = (
            search.apply(PlateRead.objects.all())
            .filter(camera__isnull=False)
            .select_related("camera")
            .only("id", "ward_id", "text", "plate", "confidence", "seen_at", "crop", "camera__id", "camera__code",
                  "camera__name", "camera__location", "camera__ward_id")
            .order_by("seen_at", "id")[:MAX_ROUTE_POINTS]
        )  # fmt: skip
        features: list[dict[str, Any]] = []
        path: list[tuple[float, float]] = []
        previous: dt.datetime | None = None
        wards: set[int] = set()
        for read in reads:
            camera: Any = read.camera
            point = camera.location
            wards.add(read.ward_id)
            features.append(
                {
                    "type": "Feature",
                    "id": read.pk,
                    "geometry": {"type": "Point", "coordinates": [point.x, point.y]},
                    "properties": {
                        "kind": "sighting",
                        "read": read.pk,
                        "seen_at": timezone.localtime(read.seen_at).isoformat(),
                        "camera": camera.pk,
                        "camera_code": camera.code,
                        "camera_name": camera.name,
                        "text": read.text,
                        "plate": read.plate,
                        "confidence": read.confidence,
                        "crop": reverse("api:plateread-crop", args=[read.pk]) if read.crop else None,
                        "gap_s": round((read.seen_at - previous).total_seconds(), 1) if previous else None,
                    },
                }
            )
            previous = read.seen_at
            if not path or path[-1] != (point.x, point.y):
                path.append((point.x, point.y))
        if len(path) >= 2:
            line = LineString(path, srid=4326)
            features.append({"type": "Feature", "id": None, "geometry": json.loads(line.geojson), "properties": {"kind": "path"}})
        count = sum(1 for f in features if f["properties"]["kind"] == "sighting")
        record_search(
            actor=request.user,
            request=request,
            action="plate_route",
            reason=search.reason,
            query=search.audit_query(),
            count=count,
            ward_ids=search.ward_ids if search.ward_ids is not None else sorted(wards),
        )
        return Response(
            {
                "type": "FeatureCollection",
                "features": features,
                "search": {"match": search.match, "key": search.key, "since": search.since, "until": search.until},
                "count": count,
                "truncated": count >= MAX_ROUTE_POINTS,
            }
        )


__all__ = ["PlateReadViewSet", "PlateRouteView", "parse_search"]
