"""Case files. For now the draft incident an operator creates by escalating an alert; the
investigations issue widens it into full case files with evidence and custody."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.models import WardOwned


class Incident(WardOwned):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open")
        INVESTIGATING = "investigating", _("Investigating")
        CLOSED = "closed", _("Closed")
        REFERRED = "referred", _("Referred")

    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    title = models.CharField(_("title"), max_length=200)
    narrative = models.TextField(_("narrative"), blank=True)
    camera = models.ForeignKey(
        "cameras.Camera", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("camera")
    )
    occurred_at = models.DateTimeField(_("occurred at"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    ward_view_roles = frozenset({"operator", "investigator", "admin"})
    ward_change_roles = frozenset({"operator", "investigator", "admin"})

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")

    def __str__(self) -> str:
        return self.title
