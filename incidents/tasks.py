"""Celery tasks of case files: cut a requested clip or still from the recordings (ids in, idempotent)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from workers.tasks import MatthanTask


@shared_task(base=MatthanTask, name="incidents.process_evidence")
def process_evidence(evidence_id: int) -> dict[str, Any]:
    """Cut the pending clip or still ``evidence_id``; a finished item is left as it is."""
    from incidents.services import process_evidence as run

    evidence = run(evidence_id=evidence_id)
    return {"id": evidence_id, "status": evidence.status if evidence is not None else "missing"}


@shared_task(base=MatthanTask, name="incidents.run_export")
def run_export_task(job_id: int) -> dict[str, Any]:
    """Build the bundle of export job ``job_id``; a finished job is left as it is."""
    from incidents.exports import run_export

    job = run_export(job_id=job_id)
    return {"id": job_id, "status": job.status if job is not None else "missing"}
