"""Writes of the plate-read store: reads from other systems (edge cameras, typed in) and retention.

``ingest_reads`` takes reads that were validated as a whole batch (the API refuses a batch with one
bad item before anything is written) and stores them with one bulk insert per batch. A read with a
client id is stored as ``source="client:<ward id>"``, ``key=<client id>``: the unique ``(source,
key)`` pair makes a resend harmless (the existing read is returned, nothing is written twice). New
reads are then checked against the watchlists (after commit).

``apply_retention`` deletes reads older than their ward's retention unless a case links them.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from analytics.models import PlateRead
from analytics.plates.grammar import SERIES_LETTERS, normalise, search_key
from cameras.models import Camera
from portal.models import Ward
from portal.services import audit, audit_outside_home, client_ip

logger = logging.getLogger(__name__)

__all__ = ["IngestResult", "ReadIn", "apply_retention", "case_linked_ids", "client_source", "ingest_reads", "record_search"]

IMAGE_TYPES = {b"\xff\xd8\xff": "jpg", b"\x89PNG\r\n\x1a\n": "png"}
MAX_TEXT = 32
# Plates already written in the grammar's canonical form (what most edge cameras send): the grammar
# would give them back unchanged, so they skip its parser (a third of a millisecond a plate).
_SERIES = "".join(sorted(SERIES_LETTERS - {"Đ"}))
CANONICAL = re.compile(
    rf"^(?:[1-9]\d[{_SERIES}]-(?:\d{{3}}\.\d{{2}}|\d{{4}})|[1-9]\d-[{_SERIES}]\d (?:\d{{3}}\.\d{{2}}|\d{{4}}))$"
)


def client_source(ward_id: int) -> str:
    return f"client:{ward_id}"


def image_extension(data: bytes) -> str | None:
    """``jpg`` or ``png`` by the file's first bytes, whatever it claims to be; None for anything else."""
    for magic, ext in IMAGE_TYPES.items():
        if data.startswith(magic):
            return ext
    return None


@dataclass(frozen=True)
class ReadIn:
    """One validated read: the camera (already checked to be the sender's), the plate as read, when."""

    camera: Camera
    plate: str
    seen_at: dt.datetime
    confidence: float
    client_id: str = ""
    vehicle_class: str = ""
    origin: str = PlateRead.Origin.EDGE
    model: str = ""
    image: bytes | None = None


@dataclass
class IngestResult:
    ids: list[int] = field(default_factory=list)  # one per read given, in order
    created: list[int] = field(default_factory=list)  # ids of the reads written now

    @property
    def existing(self) -> int:
        return len(self.ids) - len(self.created)


def canonical_text(plate: str) -> str:
    """The plate's canonical text, as ``grammar.normalise`` gives it."""
    if CANONICAL.match(plate) and plate[:2] >= "11":
        return plate
    return normalise(plate)


def _values(read: ReadIn, key: str) -> dict[str, Any]:
    """The row's columns (by attribute name); an image is written to storage here."""
    text = canonical_text(read.plate)[:MAX_TEXT]
    crop = ""
    if read.image:
        ext = image_extension(read.image) or "jpg"
        field: Any = PlateRead._meta.get_field("crop")
        crop = field.storage.save(field.generate_filename(None, f"{uuid.uuid4().hex}.{ext}"), ContentFile(read.image))
    return {
        "ward_id": read.camera.ward_id,
        "camera_id": read.camera.pk,
        "source": client_source(read.camera.ward_id),
        "key": key,
        "model": read.model,
        "plate": read.plate[:MAX_TEXT],
        "text": text,
        "search_key": search_key(text)[:MAX_TEXT],
        "confidence": read.confidence,
        "seen_at": read.seen_at,
        "crop": crop,
        "vehicle_class": read.vehicle_class,
        "origin": read.origin,
    }


# Columns given by ``_values``; the others are the id and nullable links.
COLUMNS = (
    "ward_id", "camera_id", "source", "key", "model", "plate", "text", "search_key", "confidence", "seen_at", "crop",
    "vehicle_class", "origin",
)  # fmt: skip


def _fast_insert() -> bool:
    """PostgreSQL, while the model has exactly the columns that the one-statement insert writes."""
    if connection.vendor != "postgresql":
        return False
    names = {f.column for f in PlateRead._meta.concrete_fields}
    return names == set(COLUMNS) | {"id", "job_id", "track_id"}


def _insert(rows: dict[tuple[str, str], dict[str, Any]]) -> dict[tuple[str, str], int]:
    """Insert rows whose (source, key) is not taken yet; the ids of those written now, by (source, key).

    On PostgreSQL one ``INSERT … SELECT FROM json_populate_recordset(…) ON CONFLICT DO NOTHING``: the
    rows travel as one JSON text, typed by the table itself (a fraction of the Python time of
    ``bulk_create``; the ingestion bar is 2,000 reads a second). Elsewhere ``bulk_create``.
    """
    if _fast_insert():
        quote = connection.ops.quote_name
        table = quote(PlateRead._meta.db_table)
        columns = ", ".join(quote(c) for c in COLUMNS)
        sql = (
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM json_populate_recordset(NULL::{table}, %s::json)"  # noqa: S608
            " ON CONFLICT (source, key) DO NOTHING RETURNING id, source, key"
        )
        body = json.dumps([{**row, "seen_at": row["seen_at"].isoformat()} for row in rows.values()])
        with connection.cursor() as cursor:
            cursor.execute(sql, [body])
            return {(source, key): pk for pk, source, key in cursor.fetchall()}
    objs = {pair: PlateRead(**values) for pair, values in rows.items()}
    try:
        with transaction.atomic():
            PlateRead.objects.bulk_create(objs.values(), batch_size=1000)
        return {pair: obj.pk for pair, obj in objs.items()}
    except IntegrityError:
        # Another request stored some of these client ids a moment ago: keep theirs.
        PlateRead.objects.bulk_create(objs.values(), batch_size=1000, ignore_conflicts=True)
        return _ids_of(list(objs))


def ingest_reads(*, reads: Sequence[ReadIn], actor: Any = None, request: Any = None) -> IngestResult:
    """Store validated reads in one insert; a read whose client id was stored before is not written again."""
    given = [(client_source(r.camera.ward_id), r.client_id or f"~{uuid.uuid4().hex}") for r in reads]
    result = IngestResult()
    fast = _fast_insert()
    with transaction.atomic():
        # Look up resent reads first where inserting them would cost something: every one on SQLite,
        # those with an image on PostgreSQL (whose insert skips the others by itself).
        existing = _ids_of([pair for pair, read in zip(given, reads, strict=True) if read.client_id and (read.image or not fast)])
        rows: dict[tuple[str, str], dict[str, Any]] = {}
        for pair, read in zip(given, reads, strict=True):
            if pair not in existing and pair not in rows:
                rows[pair] = _values(read, pair[1])
        if rows:
            written = _insert(rows)
            result.created = list(written.values())
            existing |= written
            # Stored before (a resend), or by another request since we looked.
            existing |= _ids_of([pair for pair in rows if pair not in existing])
        result.ids = [existing[pair] for pair in given]
        if result.created:
            from watchlists.services import queue_matching

            queue_matching(result.created)
    return result


def _ids_of(pairs: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    if not pairs:
        return {}
    query = models.Q()
    by_source: dict[str, list[str]] = {}
    for source, key in pairs:
        by_source.setdefault(source, []).append(key)
    for source, keys in by_source.items():
        query |= models.Q(source=source, key__in=keys)
    return {(s, k): pk for pk, s, k in PlateRead.objects.filter(query).values_list("pk", "source", "key")}


def record_search(
    *, actor: Any, request: Any, action: str, reason: str, query: dict[str, Any], count: int, ward_ids: Sequence[int]
) -> None:
    """Audit one plate search or route (who, why, what was asked, how many reads it gave), and each ward
    searched outside the searcher's home ward (DESIGN.md §3)."""
    wards = sorted(set(ward_ids))
    audit(
        action=action,
        actor=actor,
        ward=wards[0] if len(wards) == 1 else None,
        reason=reason,
        detail={"query": query, "count": count, "wards": wards},
        ip=client_ip(request),
    )
    audit_outside_home(user=actor, ward_ids=wards, what=action, request=request)


def case_linked_ids() -> models.QuerySet | None:
    """Ids of plate reads that a case links (never deleted by retention); None before cases link reads."""
    from incidents.models import Incident

    try:
        relation: Any = Incident._meta.get_field("plate_reads")
    except FieldDoesNotExist:
        return None
    through = relation.remote_field.through
    return through.objects.values(f"{relation.m2m_reverse_field_name()}_id")


def retention_days(ward: Ward) -> int:
    return ward.plate_read_retention_days or settings.PLATE_READ_RETENTION_DAYS


def apply_retention(*, now: dt.datetime | None = None, chunk: int = 5000) -> dict[str, int]:
    """Delete each ward's reads older than its retention, except those linked to a case; their images too."""
    now = now or timezone.now()
    linked = case_linked_ids()
    deleted = files = 0
    for ward in Ward.objects.only("id", "plate_read_retention_days"):
        old = PlateRead.objects.filter(ward=ward, seen_at__lt=now - dt.timedelta(days=retention_days(ward)))
        if linked is not None:
            old = old.exclude(pk__in=linked)
        while True:
            batch = list(old.values_list("pk", "crop")[:chunk])
            if not batch:
                break
            with transaction.atomic():
                PlateRead.objects.filter(pk__in=[pk for pk, _crop in batch]).delete()
            deleted += len(batch)
            for _pk, crop in batch:
                if crop:
                    try:
                        PlateRead.crop.field.storage.delete(crop)
                        files += 1
                    except OSError as exc:  # a file already gone is no reason to stop
                        logger.warning("plate retention: could not delete %s: %s", crop, exc)
    if deleted:
        logger.info("plate retention: %d reads, %d images deleted", deleted, files)
    return {"deleted": deleted, "images": files}
