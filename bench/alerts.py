"""Alert delivery latency: from alert saved to message received by 100 connected duty officers.

A benchmark, not a test. Run it from the repository root:

    .venv/bin/python bench/alerts.py [--clients 100] [--alerts 50] [--interval 0.1] [--mode embedded|redis|both]

Options:
    --mode        embedded, redis or both (default both)
    --clients N   WebSocket clients connected during the run (default 100)
    --alerts N    alerts raised, one every --interval seconds (default 50, 0.1 s)
    --database-url URL   Redis mode's database (default postgis://postgres@127.0.0.1:5432/matthan_alertbench;
                  its name must contain "bench"; created from template1, which holds PostGIS, when missing)
    --redis-layer project|socket-timeout|pubsub  what-if for the Redis mode (bench/alerts_settings.py):
                  the project's layer as configured (default), the same with a 10 s socket timeout, or
                  channels_redis' pub/sub layer
    --redis-url URL      Redis mode's Redis (default redis://127.0.0.1:6379/5; the channel layer's "asgi*"
                  keys there are deleted first so that stale group members of earlier runs cost nothing)

What it does, for each mode, in a child process whose environment selects the mode:

- embedded: a fresh SpatiaLite file under a temporary ``MATTHAN_VAR_DIR`` (removed afterwards), no
  ``REDIS_URL``: in-memory channel layer, Daphne's ``EventRelay`` polling the event log every 0.2 s;
- redis: ``DATABASE_URL`` (PostGIS) and ``REDIS_URL``: the committing process sends each event to the
  ward's group on the Redis channel layer.

It migrates, makes one ward with one camera and N operators with API tokens, starts one Daphne
process on a free port, connects the clients (``websockets``, asyncio, ``?token=``, one process) and
waits for every "hello". A separate process, like a Celery worker, then raises the alerts through
``analytics.services.raise_alert`` (type manual, never grouped) and reports, per alert, its event
id and the time right after the commit. For each (alert, client) pair the latency is the receipt
time minus the event's ``at`` (set when the event row is written, just before the commit: "saved"),
and, second figure, minus the time right after the commit.

What it prints, per mode: the database and channel layer; the load average before and after; the
clients connected, how long that took and how many handshakes had to be retried; deliveries
received of those expected (missing or duplicated ones counted, with the clients short of alerts
and why their sockets closed, and Daphne's consumer crashes from its log); in the raising process,
how long the commit and the on-commit work (publish, outbound) took; the median latency of the
first and of the last 10 alerts (growing: the server falls behind); the CPU seconds Daphne and the
clients used while the alerts flowed; p50 / p95 / max in ms from saved and from commit; and whether
the target is met (every delivery made and p95 from saved under 250 ms with Redis, 1.5 s embedded).
Last, a table of the modes; the exit status is 1 when a target is missed. The clients, the server,
the raising process, the database and Redis share this machine, so on a busy machine the figures
are upper bounds of what the server alone would give: compare the load averages.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import ensure_bench_database, load_average, percentile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

TARGET_MS = {"redis": 250.0, "embedded": 1500.0}
DEFAULT_DATABASE_URL = "postgis://postgres@127.0.0.1:5432/matthan_alertbench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/5"
WARD_SLUG = "alertbench"


# --- helpers -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU time of a process (this one when ``pid`` is None), from /proc."""
    if pid is None:
        times = os.times()
        return times.user + times.system
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the orchestrator: one child process per mode ------------------------------------------------


def run_mode(mode: str, args: argparse.Namespace) -> dict[str, Any] | None:
    var_dir = Path(tempfile.mkdtemp(prefix=f"matthan-alertbench-{mode}-"))
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SQLITE_PATH")}
    env.update(MATTHAN_VAR_DIR=str(var_dir), CELERY_TASK_ALWAYS_EAGER="0", LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1")
    if mode == "redis":
        ensure_bench_database(args.database_url)
        env.update(DATABASE_URL=args.database_url, REDIS_URL=args.redis_url)
        if args.redis_layer != "project":
            env.update(DJANGO_SETTINGS_MODULE="bench.alerts_settings", BENCH_REDIS_LAYER=args.redis_layer)
    command = [
        sys.executable,
        __file__,
        "--child",
        mode,
        "--clients",
        str(args.clients),
        "--alerts",
        str(args.alerts),
        "--interval",
        str(args.interval),
    ]
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, check=False)
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)
    result = None
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT ") :])
        else:
            print(line)
    if done.returncode != 0 or result is None:
        print(f"{mode}: the run failed (exit {done.returncode})")
        return None
    if mode == "redis" and args.redis_layer != "project":
        result["mode"] = f"redis/{args.redis_layer}"
    return result


# --- the child: one mode, set by its environment ---------------------------------------------------


def prepare(clients: int) -> tuple[int, list[str]]:
    """Migrate; one ward, one camera, ``clients`` operators with tokens. Return the camera id and tokens."""
    from django.contrib.auth import get_user_model
    from django.contrib.gis.geos import MultiPolygon, Point, Polygon
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from cameras.models import Camera
    from cameras.services import validate_camera
    from portal.models import Membership, OldWard, Ward

    call_command("migrate", verbosity=0)
    boundary = MultiPolygon(Polygon.from_bbox((106.76, 10.82, 106.80, 10.86)), srid=4326)
    ward, created = Ward.objects.get_or_create(
        slug=WARD_SLUG, defaults={"name": "Alert bench", "code": "ABN", "boundary": boundary}
    )
    if created:
        OldWard.objects.create(ward=ward, name="Alert bench old ward", boundary=boundary)
    camera = Camera.objects.filter(ward=ward, code="BENCH-1").first()
    if camera is None:
        camera = Camera(
            ward=ward,
            code="BENCH-1",
            name="Bench camera",
            location=Point(106.78, 10.84, srid=4326),
            heading=90,
            fov_angle=90,
            range_m=50,
            status=Camera.Status.ONLINE,
        )
        validate_camera(camera)
        camera.save()
    tokens = []
    user_model = get_user_model()
    for i in range(clients):
        user, made = user_model.objects.get_or_create(username=f"bench.operator.{i:03d}")
        if made:
            user.set_unusable_password()
            user.save(update_fields=["password"])
            Membership.objects.create(user=user, ward=ward, role="operator", is_home=True)
        tokens.append(Token.objects.get_or_create(user=user)[0].key)
    return camera.pk, tokens


def clear_channel_layer(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter("asgi*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


async def measure(port: int, server_pid: int, tokens: list[str], camera_id: int, alerts: int, interval: float) -> dict[str, Any]:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidMessage

    origin = f"http://127.0.0.1:{port}"
    received: list[tuple[int, int, float, str]] = []  # client, event id, receipt time, event "at"
    hellos = 0
    all_connected = asyncio.Event()
    stop = asyncio.Event()

    handshake_retries = 0

    async def open_socket(url: str) -> Any:
        """Connect, retrying a failed handshake (a burst of connections can outlast Daphne's 5 s handshake timeout)."""
        nonlocal handshake_retries
        for attempt in range(6):
            try:
                ws = await connect(url, origin=origin, proxy=None, open_timeout=30, max_queue=None)  # type: ignore[arg-type]
                hello = json.loads(await ws.recv())
                assert hello["type"] == "hello", hello
                return ws
            except (OSError, InvalidHandshake, InvalidMessage, ConnectionClosed, TimeoutError):
                if attempt == 5:
                    raise
                handshake_retries += 1
                await asyncio.sleep(0.5 + random.random())
        raise AssertionError("unreachable")

    async def client(index: int, token: str) -> None:
        nonlocal hellos
        url = f"ws://127.0.0.1:{port}/ws/alerts/?token={token}"
        async with await open_socket(url) as ws:
            hellos += 1
            if hellos == len(tokens):
                all_connected.set()
            got = 0
            while got < alerts and not stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), timeout=0.5)
                except TimeoutError:
                    continue
                now = time.time()
                message = json.loads(raw)
                if message["type"] == "alert":
                    received.append((index, message["event_id"], now, message["at"]))
                    got += 1

    started = time.monotonic()
    tasks = []
    for i, token in enumerate(tokens):  # open in small bursts, as browsers of a shift would
        tasks.append(asyncio.create_task(client(i, token)))
        if i % 10 == 9:
            await asyncio.sleep(0.1)
    waiting = asyncio.create_task(all_connected.wait())
    finished, _pending = await asyncio.wait([waiting, *tasks], timeout=120, return_when=asyncio.FIRST_COMPLETED)
    if waiting not in finished:
        for task in finished:
            if task.exception():
                raise task.exception()  # type: ignore[misc]
        raise RuntimeError(f"only {hellos} of {len(tokens)} clients connected")
    connect_s = time.monotonic() - started
    await asyncio.sleep(1.0)  # let the connection burst settle
    cpu_before = (cpu_seconds(server_pid), cpu_seconds())
    wall_before = time.monotonic()

    raiser = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--raise",
        str(camera_id),
        "--alerts",
        str(alerts),
        "--interval",
        str(interval),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await raiser.communicate()
    if raiser.returncode != 0:
        raise RuntimeError(f"the raising process failed (exit {raiser.returncode})")
    raised = [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]
    # Stragglers: wait until every client has every alert, at most 15 s.
    deadline = time.monotonic() + 15
    while len(received) < len(tokens) * alerts and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    cpu = {
        "wall": time.monotonic() - wall_before,
        "server": cpu_seconds(server_pid) - cpu_before[0],
        "clients": cpu_seconds() - cpu_before[1],
    }
    stop.set()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    errors = [f"client {i}: {o!r}" for i, o in enumerate(outcomes) if isinstance(o, BaseException)]
    return {
        "received": received,
        "raised": raised,
        "connect_s": connect_s,
        "cpu": cpu,
        "errors": errors,
        "handshake_retries": handshake_retries,
    }


def child(mode: str, clients: int, alerts: int, interval: float) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    if mode == "redis":
        clear_channel_layer(settings.REDIS_URL)
    camera_id, tokens = prepare(clients)
    db = connection.settings_dict
    database = f"PostGIS {db['NAME']}" if connection.vendor == "postgresql" else f"SpatiaLite {db['NAME']}"
    layer_conf = settings.CHANNEL_LAYERS["default"]
    layer = f"{layer_conf['BACKEND'].rsplit('.', 1)[1]} {layer_conf.get('CONFIG', {}).get('hosts')}"
    if not settings.REDIS_URL:
        layer = "in-memory layer + EventRelay (0.2 s poll)"
    connection.close()
    port = free_port()
    log = Path(settings.VAR_DIR) / "daphne.log"
    with log.open("wb") as out:
        daphne = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "portal.asgi:application"],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while not port_open(port):
            if daphne.poll() is not None or time.monotonic() > deadline:
                sys.exit("Daphne did not start:\n" + log.read_text(errors="replace")[-3000:])
            time.sleep(0.1)
        print(f"\n== {mode}: {database}; {layer}; one Daphne process on port {port}")
        print(f"load average before: {load_average()}")
        data = asyncio.run(measure(port, daphne.pid, tokens, camera_id, alerts, interval))
    finally:
        daphne.send_signal(signal.SIGTERM)
        try:
            daphne.wait(timeout=15)
        except subprocess.TimeoutExpired:
            daphne.kill()
            daphne.wait()
    print(f"load average after:  {load_average()}")
    crashes = [line for line in log.read_text(errors="replace").splitlines() if "Exception inside application" in line]
    if crashes:
        print(f"Daphne logged {len(crashes)} consumer crash(es), first: {crashes[0]}")
    report(mode, clients, alerts, interval, data)


def report(mode: str, clients: int, alerts: int, interval: float, data: dict[str, Any]) -> None:
    committed = {r["event_id"]: r["committed"] for r in data["raised"]}
    pairs: dict[tuple[int, int], int] = {}
    from_saved, from_commit = [], []
    for client_index, event_id, at_receipt, at in data["received"]:
        pairs[(client_index, event_id)] = pairs.get((client_index, event_id), 0) + 1
        if event_id not in committed:
            continue  # not one of this run's alerts
        from_saved.append((at_receipt - dt.datetime.fromisoformat(at).timestamp()) * 1000)
        from_commit.append((at_receipt - committed[event_id]) * 1000)
    expected = clients * len(committed)
    delivered = sum(1 for (_c, e) in pairs if e in committed)
    duplicates = sum(n - 1 for n in pairs.values())
    from_saved.sort()
    from_commit.sort()
    saved = [percentile(from_saved, 0.50), percentile(from_saved, 0.95), from_saved[-1] if from_saved else math.nan]
    commit = [percentile(from_commit, 0.50), percentile(from_commit, 0.95), from_commit[-1] if from_commit else math.nan]
    target = TARGET_MS[mode]
    met = delivered == expected and saved[1] < target
    commit_s = [r["committed"] - dt.datetime.fromisoformat(r["at"]).timestamp() for r in data["raised"]]
    print(
        f"clients: {clients} connected in {data['connect_s']:.1f} s ({data['handshake_retries']} handshakes retried); alerts: {len(committed)}, one every {interval * 1000:.0f} ms"
    )
    print(f"deliveries: {delivered} of {expected} (missing {expected - delivered}, duplicated {duplicates})")
    if delivered < expected:
        per_client = {c: sum(1 for (cc, e) in pairs if cc == c and e in committed) for c in range(clients)}
        short = {c: n for c, n in per_client.items() if n < len(committed)}
        print(f"  clients short of alerts (client: received): {dict(list(short.items())[:20])}")
    for error in data["errors"][:10]:
        print(f"  {error}")
    after_commit = sorted(r["returned"] - r["committed"] for r in data["raised"])
    print(
        f"raising process: event written → committed p50 {percentile(sorted(commit_s), 0.50) * 1000:.1f} ms;"
        f" committed → on-commit work done (publish, outbound) p50 {percentile(after_commit, 0.50) * 1000:.1f} ms,"
        f" p95 {percentile(after_commit, 0.95) * 1000:.1f} ms"
    )
    by_alert: dict[int, list[float]] = {}
    for _c, event_id, at_receipt, _at in data["received"]:
        if event_id in committed:
            by_alert.setdefault(event_id, []).append((at_receipt - committed[event_id]) * 1000)
    medians = [statistics.median(by_alert[e]) for e in sorted(by_alert)]
    if len(medians) >= 20:
        print(
            f"median commit → received of the first 10 alerts {statistics.median(medians[:10]):.0f} ms,"
            f" of the last 10 {statistics.median(medians[-10:]):.0f} ms (a growing figure: the server falls behind)"
        )
    cpu = data["cpu"]
    print(
        f"CPU while alerts flowed ({cpu['wall']:.1f} s): Daphne {cpu['server']:.1f} s ({cpu['server'] / cpu['wall']:.0%} of a core),"
        f" the {clients} clients {cpu['clients']:.1f} s ({cpu['clients'] / cpu['wall']:.0%})"
    )
    print(f"saved → received   p50 {saved[0]:7.1f} ms   p95 {saved[1]:7.1f} ms   max {saved[2]:7.1f} ms")
    print(f"commit → received  p50 {commit[0]:7.1f} ms   p95 {commit[1]:7.1f} ms   max {commit[2]:7.1f} ms")
    print(f"target: p95 under {target:.0f} ms → {'met' if met else 'MISSED'}")
    result = {
        "mode": mode,
        "clients": clients,
        "alerts": len(committed),
        "delivered": delivered,
        "expected": expected,
        "p50": saved[0],
        "p95": saved[1],
        "max": saved[2],
        "target": target,
        "met": met,
    }
    print("RESULT " + json.dumps(result))


def raise_alerts(camera_id: int, alerts: int, interval: float) -> None:
    """The raising process (like a worker): save alerts, print each event id and its commit time."""
    import django

    django.setup()
    from django.db import transaction

    from analytics.services import raise_alert
    from cameras.models import Camera

    camera = Camera.objects.get(pk=camera_id)
    next_at = time.monotonic()
    for k in range(alerts):
        stamp: dict[str, float] = {}
        with transaction.atomic():
            # Registered first, so it runs right after the commit and before the publish.
            transaction.on_commit(lambda stamp=stamp: stamp.__setitem__("committed", time.time()))
            _alert, event = raise_alert(camera=camera, type="manual", note=f"bench alert {k}")
        returned = time.time()  # after the on-commit work of the raising process: publish (Redis), outbound
        line = {"event_id": event.pk, "at": event.at.isoformat(), "committed": stamp["committed"], "returned": returned}
        print(json.dumps(line), flush=True)
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=["embedded", "redis", "both"], default="both")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--alerts", type=int, default=50)
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--redis-layer", choices=["project", "socket-timeout", "pubsub"], default="project")
    parser.add_argument("--child", choices=["embedded", "redis"], help=argparse.SUPPRESS)
    parser.add_argument("--raise", dest="raise_camera", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.raise_camera is not None:
        raise_alerts(args.raise_camera, args.alerts, args.interval)
        return
    if args.child:
        child(args.child, args.clients, args.alerts, args.interval)
        return
    print(f"alert latency bench: {args.clients} clients, {args.alerts} alerts; {os.cpu_count()} CPUs")
    modes = ["embedded", "redis"] if args.mode == "both" else [args.mode]
    results = [r for mode in modes if (r := run_mode(mode, args)) is not None]
    print("\nmode                  deliveries     p50 ms    p95 ms    max ms   target p95")
    for r in results:
        verdict = "met" if r["met"] else "MISSED"
        print(
            f"{r['mode']:<21} {r['delivered']:>5}/{r['expected']:<6} {r['p50']:9.1f} {r['p95']:9.1f} {r['max']:9.1f}"
            f"   < {r['target']:.0f} ms {verdict}"
        )
    if len(results) != len(modes) or not all(r["met"] for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
