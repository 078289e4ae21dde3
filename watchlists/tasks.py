"""Celery tasks of the watchlists: match new plate reads and face sightings, expire old entries.

Tasks take ids and are idempotent: an alert raised for a (entry, read) pair carries a client id, so a
task delivered twice never raises the same hit twice.
"""

from __future__ import annotations

from celery import shared_task

from workers.tasks import MatthanTask


@shared_task(base=MatthanTask, name="watchlists.match_plate_reads")
def match_plate_reads(read_ids: list[int]) -> int:
    """Check plate reads against the active watchlist entries; returns the number of hits."""
    from watchlists.services import match_plate_reads as match

    return match(read_ids=read_ids)


@shared_task(base=MatthanTask, name="watchlists.match_face_sightings")
def match_face_sightings(sighting_ids: list[int]) -> int:
    from watchlists.services import match_face_sightings as match

    return match(sighting_ids=sighting_ids)


@shared_task(base=MatthanTask, name="watchlists.expire")
def expire_entries() -> int:
    """Mark entries past their expiry as expired (scheduled by Celery beat)."""
    from watchlists.services import expire_entries as expire

    return expire()
