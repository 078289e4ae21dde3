"""Numbers and custody chains stay unique and linked when many requests write at once."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import timezone

from incidents import services
from incidents.models import CustodyEntry, Incident

WRITERS = 6


def run_together(target: Any) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(WRITERS)

    def work(i: int) -> None:
        try:
            barrier.wait()
            target(i)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serialises all writers anyway")
def test_parallel_cases_and_views_get_distinct_numbers_and_one_chain(transactional_db: Any, ward_a: Any) -> None:
    user = ward_a.users["investigator"]
    errors = run_together(
        lambda i: services.create_case(ward=ward_a.ward, actor=user, title=f"Case {i}", occurred_at=timezone.now())
    )
    assert not errors, errors
    year = timezone.localtime().year
    assert sorted(Incident.objects.values_list("number", flat=True)) == [f"WA-{year}-{n:04d}" for n in range(1, WRITERS + 1)]
    case = Incident.objects.order_by("pk").first()
    assert case is not None
    errors = run_together(lambda i: services.record_custody(case=case, action="view", actor=user, reason=f"look {i}"))
    assert not errors, errors
    assert sorted(CustodyEntry.objects.filter(case=case).values_list("seq", flat=True)) == list(range(1, WRITERS + 1))
    assert not services.verify_custody(case=case)
