"""``stream``: a camera's RTSP or HTTP stream, reconnecting with exponential backoff.

The URL is checked before OpenCV sees it, with the rules of ``cameras.validators.split_stream_url``
(copied here as plain Python so that the pipeline never imports Django): only ``rtsp``, ``rtsps``,
``http`` and ``https`` with a host; never ``file:``, ``concat:``, ``subfile:``, ``pipe:`` or any
other scheme FFmpeg would happily open, no spaces or control characters, at most 500 characters.
Credentials stay in the URL given to FFmpeg but never appear in errors, logs or :meth:`health`.

Every frame is grabbed (so that the camera's buffer never fills and lag never builds up); one each
1/``fps`` seconds of wall-clock time is converted and delivered, stamped with the seconds since the
source started. When the stream fails to open or stops delivering (a read timeout, the camera
rebooting, the server closing), the capture is released and reopened after a delay that starts at
``backoff_s`` and doubles up to ``backoff_max_s``; it resets once frames flow again.
``max_attempts`` bounds consecutive failed opens (``None``: keep trying until :meth:`close`).
"""

from __future__ import annotations

import time
import unicodedata
from collections import deque
from collections.abc import Callable, Iterator
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

import cv2

from analytics.pipeline.base import Frame, FrameSource, SourceError, SourceHealth

ALLOWED_SCHEMES = ("rtsp", "rtsps", "http", "https")
MAX_URL_LENGTH = 500
_HOW = "use rtsp://, rtsps://, http:// or https:// followed by the camera's host, e.g. rtsp://10.0.0.5:554/stream1"


def _unsafe(ch: str) -> bool:
    """Spaces and every control, format or unassigned character (C0, DEL, C1, bidi overrides...)."""
    return ch.isspace() or unicodedata.category(ch).startswith("C")


def check_stream_url(value: str) -> tuple[str, str, str]:
    """Validate ``value``; return (URL without credentials, username, password), or raise SourceError.

    The one home of these rules; ``cameras.validators`` translates the errors for the camera registry.
    """
    value = (value or "").strip()
    if not value:
        raise SourceError(f"The stream URL is empty: {_HOW}.", "url_empty")
    if len(value) > MAX_URL_LENGTH:
        raise SourceError(f"The stream URL is longer than {MAX_URL_LENGTH} characters.", "url_length")
    if any(_unsafe(ch) for ch in value):
        raise SourceError(f"The stream URL must not contain spaces or control characters: {_HOW}.", "url_characters")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise SourceError(f"The stream URL is malformed ({exc}): {_HOW}.", "url_malformed") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES or "|" in value.split(":", 1)[0]:
        shown = parts.scheme or value.split(":", 1)[0][:20]
        raise SourceError(
            f"Stream URL scheme “{shown}” is not allowed: use one of rtsp://, rtsps://, http://, https://.", "url_scheme"
        )
    if not parts.hostname:
        raise SourceError(f"The stream URL has no camera host: {_HOW}.", "url_host")
    netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if port is not None:
        netloc = f"{netloc}:{port}"
    clean = urlunsplit(SplitResult(scheme, netloc, parts.path, parts.query, ""))
    return clean, unquote(parts.username or ""), unquote(parts.password or "")


class StreamSource(FrameSource):
    def __init__(
        self,
        url: str,
        fps: float = 5.0,
        *,
        timeout_s: float = 5.0,
        backoff_s: float = 0.5,
        backoff_max_s: float = 30.0,
        max_attempts: int | None = None,
        max_lag_s: float = 0.5,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        if fps <= 0:
            raise ValueError("fps must be positive")
        self.display_url, _user, _password = check_stream_url(url)
        self._url = url.strip()
        self.fps = fps
        self.timeout_s = timeout_s
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.max_attempts = max_attempts
        self.max_lag_s = max_lag_s
        self._lag_s = 0.0
        self._dropped = 0
        self.taken_at: float | None = None  # monotonic time the camera took the last delivered frame
        self._sleep = sleep
        self._closed = False
        self._connected = False
        self._error: str | None = None
        self._read = self._delivered = self._reconnects = 0
        self._last_frame_at: float | None = None
        self._delivered_times: deque[float] = deque(maxlen=50)
        self._read_times: deque[float] = deque(maxlen=100)
        self.delays: list[float] = []  # the backoff delays slept so far (for health pages and tests)

    def _open(self) -> cv2.VideoCapture | None:
        ms = int(self.timeout_s * 1000)
        cap = cv2.VideoCapture(
            self._url, cv2.CAP_FFMPEG, [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
        )
        if cap.isOpened():
            return cap
        cap.release()
        return None

    def frames(self) -> Iterator[Frame]:
        started = time.monotonic()
        step = 1.0 / self.fps
        due = 0.0
        index = -1
        failures = 0
        delay = self.backoff_s
        ever_connected = False
        while not self._closed:
            cap = self._open()
            if cap is None:
                failures += 1
                self._error = f"cannot open {self.display_url} (attempt {failures})"
                if self.max_attempts is not None and failures >= self.max_attempts:
                    raise SourceError(
                        f"{self.display_url}: no stream after {failures} attempts; check the camera and its URL", "unreachable"
                    )
                self.delays.append(delay)
                self._sleep(delay)
                delay = min(delay * 2, self.backoff_max_s)
                continue
            if ever_connected:
                self._reconnects += 1
            ever_connected = True
            self._connected, self._error = True, None
            got_frame = False
            # The stream's clock against ours: ``now - pts`` is a frame's delay plus a constant, and the
            # least value seen on this connection counts as no delay. While the consumer was busy the
            # camera's frames queued up; those older than ``max_lag_s`` are only grabbed (decoded, not
            # converted) and dropped, so analysis catches up with the present instead of lagging more.
            baseline: float | None = None
            try:
                while not self._closed and cap.grab():
                    index += 1
                    self._read += 1
                    now = time.monotonic()
                    self._read_times.append(now)
                    if not got_frame:  # frames flow again: the next failure starts a fresh backoff
                        got_frame, failures, delay = True, 0, self.backoff_s
                    offset = now - cap.get(cv2.CAP_PROP_POS_MSEC) / 1000
                    if baseline is None or offset < baseline:
                        baseline = offset
                    self._lag_s = offset - baseline
                    if self._lag_s > self.max_lag_s:
                        self._dropped += 1
                        continue
                    if now - started + 1e-3 < due:
                        continue
                    ok, image = cap.retrieve()
                    if not ok or image is None:
                        continue
                    ts = now - started
                    due += step
                    if due <= ts:  # fell behind (a slow consumer): keep the rhythm, never burst
                        due = ts + step
                    self._delivered += 1
                    self._delivered_times.append(now)
                    self.taken_at = now - self._lag_s
                    self._last_frame_at = time.time()
                    yield Frame(index=index, timestamp=ts, image=image)
            finally:
                cap.release()
                self._connected = False
            if self._closed:
                break
            self._error = f"{self.display_url}: the stream stopped; reconnecting"
            if not got_frame:
                failures += 1
                if self.max_attempts is not None and failures >= self.max_attempts:
                    raise SourceError(
                        f"{self.display_url}: the stream opens but delivers no frame; check the camera", "no_frames"
                    )
            self.delays.append(delay)
            self._sleep(delay)
            delay = min(delay * 2, self.backoff_max_s)

    @staticmethod
    def _rate(times: deque[float]) -> float:
        if len(times) < 2 or times[-1] <= times[0]:
            return 0.0
        return (len(times) - 1) / (times[-1] - times[0])

    def health(self) -> SourceHealth:
        return SourceHealth(
            connected=self._connected,
            last_frame_at=self._last_frame_at,
            fps=self._rate(self._delivered_times),
            input_fps=self._rate(self._read_times),
            frames_read=self._read,
            frames_delivered=self._delivered,
            reconnects=self._reconnects,
            error=self._error,
            lag_s=round(self._lag_s, 3),
            dropped=self._dropped,
        )

    def close(self) -> None:
        self._closed = True
