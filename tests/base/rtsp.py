"""A real RTSP camera for tests and benchmarks: ``scripts/rtsp_server.py`` in a subprocess.

The server runs under Debian's ``/usr/bin/python3`` (GStreamer's Python bindings are not in the venv)
and loops a clip as a live H.264 stream. :class:`RtspServer` starts it, waits until it answers, and can
stop and restart it on the same port, which is how tests make a camera drop and come back.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "rtsp_server.py"
SYSTEM_PYTHON = "/usr/bin/python3"
VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def available() -> str | None:
    """Why the server cannot run here, or ``None`` when it can."""
    if not Path(SYSTEM_PYTHON).exists():
        return f"{SYSTEM_PYTHON} is missing"
    if not VTEST.exists():
        return f"{VTEST} is missing (Debian package opencv-doc)"
    probe = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        return "GStreamer RTSP server bindings are missing (python3-gi, gir1.2-gst-rtsp-server-1.0)"
    return None


class RtspServer:
    """``with RtspServer(paths=4) as server: server.urls`` → rtsp://127.0.0.1:PORT/cam1 ... /cam4."""

    def __init__(
        self,
        *,
        file: Path = VTEST,
        port: int | None = None,
        path: str = "/cam1",
        paths: int = 1,
        fps: int = 10,
        user: str = "",
        password: str = "",
        cpu: int | None = None,
    ) -> None:
        self.file = file
        self.port = port or free_port()
        self.path = path
        self.paths = paths
        self.fps = fps
        self.user = user
        self.password = password
        self.cpu = cpu  # pin the server to this core (benchmarks keep it off the measured one)
        self.proc: subprocess.Popen[str] | None = None
        self.urls: list[str] = []

    @property
    def url(self) -> str:
        return self.urls[0]

    def start(self, timeout: float = 20.0) -> RtspServer:
        command = [
            SYSTEM_PYTHON,
            str(SCRIPT),
            "--port",
            str(self.port),
            "--path",
            self.path,
            "--paths",
            str(self.paths),
            "--file",
            str(self.file),
            "--fps",
            str(self.fps),
        ]
        if self.user:
            command += ["--user", self.user, "--password", self.password]
        if self.cpu is not None:
            command = ["taskset", "-c", str(self.cpu), *command]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
        self.proc = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"the RTSP server exited with {self.proc.wait()}")
            if line.startswith("READY "):
                self.urls = line.split()[1:]
                break
        else:
            self.stop()
            raise RuntimeError("the RTSP server did not start in time")
        self._wait_port(open_=True, timeout=timeout)
        return self

    def _wait_port(self, *, open_: bool, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    answering = True
            except OSError:
                answering = False
            if answering == open_:
                return
            time.sleep(0.05)
        raise RuntimeError(f"port {self.port} still {'closed' if open_ else 'open'} after {timeout} s")

    def stop(self) -> None:
        """Stop the camera: its clients see the connection close, as when a camera loses power."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None
        self._wait_port(open_=False, timeout=5)

    def restart(self) -> RtspServer:
        self.stop()
        return self.start()

    def __enter__(self) -> RtspServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
