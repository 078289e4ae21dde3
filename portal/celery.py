"""The Celery app: the distributed engine of the workers (DESIGN.md §2).

Embedded default: kombu's ``filesystem://`` broker under ``var/broker`` (no server needed), with a
real worker process started by ``make run``. Scaled: ``REDIS_URL`` makes Redis the broker.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("matthan")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["workers", "watchlists", "incidents"])
