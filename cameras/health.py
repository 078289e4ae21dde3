"""Camera reachability: can we open a TCP connection to the stream's host and port?

A cheap probe that needs no decoding; the stream supervisors of the analysis pipeline report richer
health (last frame, fps) on top of it. Only cameras meant to be running (online or offline) change
status; planned, maintenance and to-restore cameras are left alone.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443}


def probe(url: str, *, timeout: float = 3.0) -> bool:
    parts = urlsplit(url)
    if not parts.hostname:
        return False
    port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower(), 554)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False
