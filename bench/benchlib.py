"""What the benchmarks share: percentiles, the machine's load, and their own PostGIS database.

The scripts run as ``python bench/<name>.py``, so this module is importable as ``benchlib``.
"""

from __future__ import annotations

import math
import os
import sys


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile, ``q`` from 0 to 1; NaN for no values."""
    data = sorted(values)
    if not data:
        return math.nan
    return data[max(0, math.ceil(q * len(data)) - 1)]


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def ensure_bench_database(url: str, *, refill: bool = False) -> str:
    """Create the PostGIS database of ``url`` when missing (drop it first with ``refill``).

    Only a database whose name contains "bench" is ever touched, never the portal's or a test one.
    PostGIS comes from template1 (``make postgis`` puts the extension there).
    """
    import dj_database_url
    import psycopg

    if not url.startswith(("postgis://", "postgres://", "postgresql://")):
        sys.exit("Give a PostGIS URL, e.g. postgis://postgres@127.0.0.1:5432/matthan_bench.")
    conf = dj_database_url.parse(url)
    name = str(conf["NAME"])
    if "bench" not in name or name.startswith("test"):
        sys.exit(f"Refusing database {name!r}: a benchmark only uses a database whose name contains 'bench'.")
    params = {
        "dbname": "postgres",
        "host": conf.get("HOST") or None,
        "port": conf.get("PORT") or None,
        "user": conf.get("USER") or None,
        "password": conf.get("PASSWORD") or None,
        "autocommit": True,
    }
    with psycopg.connect(**{k: v for k, v in params.items() if v is not None}) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None
        if exists and refill:
            print(f"dropping database {name}")
            conn.execute(f'DROP DATABASE "{name}"')
            exists = False
        if not exists:
            print(f"creating database {name} (template1, PostGIS)")
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template1')
    return name
