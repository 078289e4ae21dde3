"""Frame sources: sampling real footage, refusing bad files and hostile URLs, reconnecting streams."""

from __future__ import annotations

import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from analytics.pipeline.base import SourceError
from analytics.pipeline.clips import encode
from analytics.pipeline.registry import open_source
from analytics.pipeline.sources import stream as stream_module
from analytics.pipeline.sources.file import FileSource
from analytics.pipeline.sources.memory import MemorySource
from analytics.pipeline.sources.stream import StreamSource, check_stream_url


def test_file_source_reads_vtest_and_samples_by_media_time(vtest: Path) -> None:
    source = FileSource(vtest, fps=5)
    assert (source.width, source.height, source.native_fps, source.declared_frames) == (768, 576, 10.0, 795)
    frames = list(source)
    assert len(frames) == 398
    assert [f.index for f in frames[:4]] == [0, 2, 4, 6]
    assert [round(f.timestamp, 3) for f in frames[:4]] == [0.0, 0.2, 0.4, 0.6]
    assert frames[-1].image.shape == (576, 768, 3)
    health = source.health()
    assert (health.frames_read, health.frames_delivered, health.error) == (795, 398, None)


def test_file_source_at_a_rate_that_does_not_divide_the_clip(vtest: Path) -> None:
    frames = list(FileSource(vtest, fps=3))  # a frame every 1/3 s of a 10 fps clip: 0, 0.4, 0.7, 1.0 ...
    gaps = np.diff([f.timestamp for f in frames])
    assert abs(len(frames) - 79.5 * 3) <= 2
    assert gaps.min() >= 0.3 - 1e-6 and gaps.max() <= 0.4 + 1e-6


def test_zero_byte_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "upload.mp4"
    empty.touch()
    with pytest.raises(SourceError, match=r"upload.mp4: the file is empty \(0 bytes\)") as caught:
        FileSource(empty)
    assert caught.value.code == "empty" and str(tmp_path) not in str(caught.value)


def test_garbage_is_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "clip.mp4"
    garbage.write_bytes(np.random.default_rng(1).integers(0, 256, 200_000, dtype=np.uint8).tobytes())
    with pytest.raises(SourceError, match="clip.mp4: not a video file OpenCV/FFmpeg can open") as caught:
        FileSource(garbage)
    assert caught.value.code == "not_video"
    text = tmp_path / "notes.avi"
    text.write_text("this is not a video\n" * 100)
    with pytest.raises(SourceError, match="notes.avi: not a video file"):
        FileSource(text)


def test_missing_paths_directories_and_pipes_are_refused_without_hanging(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        FileSource(tmp_path / "nothing.mp4")
    with pytest.raises(SourceError, match="not a regular file"):
        FileSource(tmp_path)
    fifo = tmp_path / "camera.fifo"
    os.mkfifo(fifo)  # opening it for reading would block forever
    with pytest.raises(SourceError, match="not a regular file"):
        FileSource(fifo)


def test_a_truncated_file_is_refused_up_front_with_verify(vtest: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.avi"
    cut.write_bytes(vtest.read_bytes()[:3_000_000])
    with pytest.raises(
        SourceError, match=r"cut.avi: the video ends after \d+ of its 795 frames .* truncated or damaged"
    ) as caught:
        FileSource(cut, verify=True)
    assert caught.value.code == "truncated"


def test_a_truncated_file_delivers_what_it_has_then_says_so(vtest: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.avi"
    cut.write_bytes(vtest.read_bytes()[:3_000_000])
    source = FileSource(cut, fps=5)
    delivered = []
    with pytest.raises(SourceError, match="truncated or damaged"):
        for frame in source:
            delivered.append(frame.index)
    assert 100 < len(delivered) < 398
    assert source.health().error is not None and not source.health().connected


def test_a_header_without_frames_is_refused(vtest: Path, tmp_path: Path) -> None:
    head = tmp_path / "head.avi"
    head.write_bytes(vtest.read_bytes()[:5000])
    with pytest.raises(SourceError, match="head.avi"):
        FileSource(head, verify=True)


def test_a_complete_encoded_file_passes_verify(still_video: Path) -> None:
    source = FileSource(still_video, fps=5, verify=True)
    assert len(list(source)) == 75


def test_memory_source_samples_like_a_file() -> None:
    images = [np.zeros((4, 4, 3), np.uint8)] * 30
    frames = list(MemorySource(images, fps=5, source_fps=10))
    assert [f.index for f in frames] == list(range(0, 30, 2))


HOSTILE = [
    "file:///etc/passwd",
    "FILE:/etc/passwd",
    "concat:/etc/passwd|/etc/hosts",
    "subfile:,start,0,end,100,:/etc/passwd",
    "pipe:0",
    "data:video/mp4;base64,AAAA",
    "tcp://10.0.0.5:554",
    "udp://10.0.0.5:554",
    "rtmp://10.0.0.5/live",
    "ftp://10.0.0.5/clip.mp4",
    "rtsp|file:///etc/passwd",
    "rtsp:///stream1",
    "rtsp://",
    "rtsp://10.0.0.5/stream 1",
    "rtsp://10.0.0.5/stream\x00",
    "rtsp://10.0.0.5/\u202estream",
    "rtsp://10.0.0.5:99999/stream",
    "/etc/passwd",
    "",
    "rtsp://10.0.0.5/" + "a" * 600,
]


@pytest.mark.parametrize("url", HOSTILE)
def test_hostile_stream_urls_are_refused_before_opencv_sees_them(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"OpenCV was asked to open {args[0]!r}")

    monkeypatch.setattr(stream_module.cv2, "VideoCapture", never)
    with pytest.raises(SourceError) as caught:
        StreamSource(url)
    assert "stream URL" in str(caught.value) or "Stream URL" in str(caught.value)


def test_the_scheme_message_says_what_to_use() -> None:
    with pytest.raises(
        SourceError, match="Stream URL scheme “concat” is not allowed: use one of rtsp://, rtsps://, http://, https://"
    ) as caught:
        check_stream_url("concat:/etc/passwd|/etc/hosts")
    assert caught.value.code == "url_scheme"


def test_open_source_never_hands_a_protocol_to_ffmpeg_as_a_path(tmp_path: Path) -> None:
    for location in ("concat:/etc/passwd|/etc/hosts", "file:/etc/passwd", "pipe:0", "subfile:,,start,0,end,9,:/etc/passwd"):
        with pytest.raises(SourceError, match="is not allowed"):
            open_source(location, 5)
    with pytest.raises(SourceError, match="passwd: not a video file"):
        open_source("/etc/passwd", 5)


def test_open_source_picks_the_file_or_stream_source(vtest: Path) -> None:
    assert isinstance(open_source(str(vtest), 5), FileSource)
    stream = open_source("rtsp://user:pw@10.0.0.5/stream1", 5, max_attempts=1)
    assert isinstance(stream, StreamSource) and stream.display_url == "rtsp://10.0.0.5/stream1"


def test_credentials_never_show(monkeypatch: pytest.MonkeyPatch) -> None:
    source = StreamSource("rtsp://admin:s3cret@10.0.0.5:554/stream1", max_attempts=1, sleep=lambda s: None)
    assert source.display_url == "rtsp://10.0.0.5:554/stream1"
    monkeypatch.setattr(stream_module.cv2, "VideoCapture", lambda *a, **k: _Closed())
    with pytest.raises(SourceError) as caught:
        next(iter(source))
    assert "s3cret" not in str(caught.value) and "admin" not in str(caught.value)
    assert "s3cret" not in repr(source.health())


class _Closed:
    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return False

    def release(self) -> None:
        pass


def test_an_unreachable_camera_backs_off_exponentially_then_gives_up() -> None:
    slept: list[float] = []
    source = StreamSource(
        "rtsp://127.0.0.1:9/stream1", timeout_s=2, backoff_s=0.5, backoff_max_s=3, max_attempts=6, sleep=slept.append
    )
    with pytest.raises(SourceError, match=r"rtsp://127.0.0.1:9/stream1: no stream after 6 attempts"):
        next(iter(source))
    assert slept == [0.5, 1.0, 2.0, 3.0, 3.0]
    health = source.health()
    assert not health.connected and health.frames_delivered == 0 and "cannot open" in (health.error or "")


@pytest.fixture
def http_camera(vtest_head: list[np.ndarray], tmp_path: Path) -> Iterator[str]:
    """A real HTTP server (stdlib, own thread) serving a 30-frame H.264 clip; it ends, like a dropped stream."""
    encode(vtest_head[:30], tmp_path / "cam.ts", preset="ultrafast")  # MPEG-TS: streamable, needs no seeking

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(tmp_path), **kwargs)  # type: ignore[misc, arg-type]

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/cam.ts"
    finally:
        server.shutdown()
        server.server_close()


def test_a_stream_that_ends_reconnects_and_reports_its_health(http_camera: str) -> None:
    slept: list[float] = []
    source = StreamSource(http_camera, fps=1000, timeout_s=5, backoff_s=0.01, max_attempts=3, sleep=slept.append)
    seen = []
    for frame in source:
        seen.append(frame)
        health = source.health()
        assert health.connected and health.last_frame_at is not None
        if len(seen) == 45:  # the 30-frame clip ended once: the source reopened it
            source.close()
    assert len(seen) == 45
    assert seen[0].image.shape == (576, 768, 3)
    assert all(b.timestamp >= a.timestamp for a, b in zip(seen, seen[1:], strict=False))
    health = source.health()
    assert health.reconnects == 1 and slept == [0.01]
    assert health.frames_read >= 45 and health.input_fps > 0 and health.fps > 0
    assert not health.connected
