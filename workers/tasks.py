"""Celery tasks. One base class gives every task logging, retries with backoff and acks-late."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task

logger = logging.getLogger(__name__)


class MatthanTask(Task):
    """Base of every task: ids in, idempotent, retried with exponential backoff."""

    autoretry_for = (ConnectionError, TimeoutError)
    retry_backoff = True
    retry_backoff_max = 300
    retry_jitter = True
    max_retries = 5
    acks_late = True

    def on_failure(self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        logger.error("task %s[%s] failed: %s", self.name, task_id, exc)
