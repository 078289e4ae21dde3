"""Which worker watches which camera stream right now.

A stream supervisor holds a lease on its camera and renews it with every heartbeat; a lease that has
not been renewed for ``STREAM_LEASE_SECONDS`` is free for any other worker to take, which is how a dead
worker's cameras move within 30 s. The row also carries the stream's last health for the pages.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class StreamLease(models.Model):
    camera = models.OneToOneField("cameras.Camera", on_delete=models.CASCADE, related_name="lease", verbose_name=_("camera"))
    holder = models.CharField(_("worker"), max_length=200, blank=True)
    session = models.CharField(max_length=40, blank=True, help_text=_("Changes every time a supervisor (re)starts."))
    expires_at = models.DateTimeField(_("lease expires at"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    connected = models.BooleanField(_("connected"), default=False)
    last_frame_at = models.DateTimeField(_("last frame at"), null=True, blank=True)
    fps = models.FloatField(_("measured fps"), default=0)
    lag_s = models.FloatField(_("lag (s)"), default=0)
    reconnects = models.PositiveIntegerField(_("reconnects"), default=0)
    error = models.CharField(_("last error"), max_length=300, blank=True)
    recording = models.BooleanField(_("recording"), default=False)

    class Meta:
        verbose_name = _("stream lease")
        verbose_name_plural = _("stream leases")

    def __str__(self) -> str:
        return f"{self.camera_id} → {self.holder or '-'}"
