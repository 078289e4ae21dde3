"""Stream URL validation: only camera schemes, never local files or ffmpeg pseudo-protocols."""

from __future__ import annotations

import unicodedata
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

ALLOWED_SCHEMES = ("rtsp", "rtsps", "http", "https")
MAX_URL_LENGTH = 500


def _how() -> str:
    return _("use rtsp://, rtsps://, http:// or https:// followed by the camera's host, e.g. rtsp://10.0.0.5:554/stream1")


def _unsafe(ch: str) -> bool:
    """Spaces and every control, format or unassigned character (C0, DEL, C1, bidi overrides...)."""
    return ch.isspace() or unicodedata.category(ch).startswith("C")


def split_stream_url(value: str) -> tuple[str, str, str]:
    """Validate ``value``; return (url without credentials, username, password).

    ffmpeg and OpenCV accept ``file:``, ``concat:``, ``subfile:``, ``pipe:`` and others that read
    the server's own disk or run protocols we never want a camera record to trigger, so anything
    but rtsp/rtsps/http/https with a host is refused, naming what to fix.
    """
    value = (value or "").strip()
    if not value:
        return "", "", ""
    if len(value) > MAX_URL_LENGTH:
        raise ValidationError(_("The stream URL is longer than %(n)d characters.") % {"n": MAX_URL_LENGTH})
    if any(_unsafe(ch) for ch in value):
        raise ValidationError(_("The stream URL must not contain spaces or control characters: %(how)s.") % {"how": _how()})
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise ValidationError(_("The stream URL is malformed (%(error)s): %(how)s.") % {"error": exc, "how": _how()}) from exc
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES or "|" in value.split(":", 1)[0]:
        raise ValidationError(
            _("Stream URL scheme “%(scheme)s” is not allowed: use one of rtsp://, rtsps://, http://, https://.")
            % {"scheme": parts.scheme or value.split(":", 1)[0][:20]}
        )
    if not parts.hostname:
        raise ValidationError(_("The stream URL has no camera host: %(how)s.") % {"how": _how()})
    netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if port is not None:
        netloc = f"{netloc}:{port}"
    clean = urlunsplit(SplitResult(scheme, netloc, parts.path, parts.query, ""))
    return clean, unquote(parts.username or ""), unquote(parts.password or "")
