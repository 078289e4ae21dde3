"""The Django project: settings, URLs, ASGI + Channels, Celery app, tenancy, audit log, pages.

The pyenv Python here cannot load SQLite extensions, so SpatiaLite needs ``pysqlite3`` built
against Debian's SQLite. It is swapped in for ``sqlite3`` before Django's backend imports it.
"""

import sys

try:
    import pysqlite3
    import pysqlite3.dbapi2

    sys.modules["sqlite3"] = pysqlite3
    sys.modules["sqlite3.dbapi2"] = pysqlite3.dbapi2
except ImportError:  # pragma: no cover - PostGIS-only deployments may leave it out
    pass

from portal.celery import app as celery_app  # noqa: E402 (after the sqlite3 swap)

__all__ = ["celery_app"]
