"""``manage.py run_streams [--camera ID...] [--retention]``: stream supervisors in the foreground.

For operators without a Celery worker on the ``streams`` queue (a small site, a test bench): every
``STREAM_ASSIGN_SECONDS`` it starts a supervisor thread for each camera that wants one and has no live
lease, exactly as the assign task and ``streams.run`` do, under the same leases, so it can run next to
Celery workers without two of them ever taking the same camera. ``--camera`` limits it to those
cameras; ``--retention`` also applies recording retention every ``RETENTION_SECONDS``. Ctrl-C stops
every supervisor cleanly (open segments are finished and registered, leases released).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import connections

from workers.recording import apply_retention
from workers.streams import SHUTDOWN, StreamSupervisor, assign_streams, worker_name


class Command(BaseCommand):
    help = "Run live stream supervisors (analysis, recording, health) in this process until Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--camera", type=int, action="append", default=[], help="only this camera id (repeatable)")
        parser.add_argument("--retention", action="store_true", help="also apply recording retention")

    def handle(self, *args: Any, **options: Any) -> None:
        only = set(options["camera"])
        running: dict[int, threading.Thread] = {}
        holder = f"{worker_name()}:run_streams"
        next_retention = 0.0

        def supervise(camera_id: int) -> None:
            try:
                outcome = StreamSupervisor(camera_id, holder=holder).run()
                self.stdout.write(f"camera {camera_id}: {outcome}")
            finally:
                connections.close_all()

        def start(camera_id: int) -> None:
            if (only and camera_id not in only) or (camera_id in running and running[camera_id].is_alive()):
                return
            running[camera_id] = threading.Thread(target=supervise, args=(camera_id,), name=f"supervisor-{camera_id}")
            running[camera_id].start()

        self.stdout.write(f"supervising streams as {holder}; Ctrl-C stops")
        try:
            while True:
                assign_streams(start)
                if options["retention"] and time.monotonic() >= next_retention:
                    self.stdout.write(f"retention: {apply_retention().as_dict()}")
                    next_retention = time.monotonic() + settings.RETENTION_SECONDS
                time.sleep(settings.STREAM_ASSIGN_SECONDS)
        except KeyboardInterrupt:
            self.stdout.write("stopping supervisors")
        finally:
            SHUTDOWN.set()
            for thread in running.values():
                thread.join(timeout=30)
