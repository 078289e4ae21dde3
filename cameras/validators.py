"""Stream URL validation for the camera registry: the pipeline's rules, with translated messages.

ffmpeg and OpenCV accept ``file:``, ``concat:``, ``subfile:``, ``pipe:`` and others that read the
server's own disk or run protocols a camera record must never trigger, so anything but
rtsp/rtsps/http/https with a host is refused. The rules live once, in the plain-Python pipeline
(``analytics.pipeline.sources.stream.check_stream_url``), which checks again before opening a stream.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from analytics.pipeline.base import SourceError
from analytics.pipeline.sources.stream import MAX_URL_LENGTH, check_stream_url


def _how() -> str:
    return _("use rtsp://, rtsps://, http:// or https:// followed by the camera's host, e.g. rtsp://10.0.0.5:554/stream1")


def _message(code: str, value: str) -> str:
    if code == "url_length":
        return _("The stream URL is longer than %(n)d characters.") % {"n": MAX_URL_LENGTH}
    if code == "url_characters":
        return _("The stream URL must not contain spaces or control characters: %(how)s.") % {"how": _how()}
    if code == "url_scheme":
        return _("Stream URL scheme “%(scheme)s” is not allowed: use one of rtsp://, rtsps://, http://, https://.") % {
            "scheme": value.split(":", 1)[0][:20]
        }
    if code == "url_host":
        return _("The stream URL has no camera host: %(how)s.") % {"how": _how()}
    return _("The stream URL is malformed: %(how)s.") % {"how": _how()}


def split_stream_url(value: str) -> tuple[str, str, str]:
    """Validate ``value``; return (url without credentials, username, password). Blank is allowed."""
    value = (value or "").strip()
    if not value:
        return "", "", ""
    try:
        return check_stream_url(value)
    except SourceError as exc:
        raise ValidationError(_message(exc.code, value)) from None
