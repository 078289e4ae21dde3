"""``{% export_panel case %}``: the export controls of a case page (reason, redacted, progress, downloads)."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.translation import gettext as _

from incidents.exports import may_export
from incidents.keys import deployment_keys
from incidents.models import ExportJob

register = template.Library()


@register.inclusion_tag("incidents/_export.html", takes_context=True)
def export_panel(context: template.Context, case: Any) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    allowed = user is not None and user.is_authenticated and may_export(user, case.ward_id)
    jobs = (
        list(ExportJob.objects.filter(case=case).select_related("created_by").order_by("-created_at", "-id")[:10])
        if allowed
        else []
    )
    return {
        "case": case,
        "allowed": allowed,
        "jobs": [
            {
                "job": job,
                "download": reverse("api:exportjob-download", args=[job.pk]) if job.status == ExportJob.Status.DONE else "",
            }
            for job in jobs
        ],
        "fingerprint": deployment_keys().fingerprint,
        "export_url": reverse("api:case-export", args=[case.pk]),
        "csrf_token": context.get("csrf_token"),
        "labels": {
            "queued": _("Waiting for a worker…"),
            "running": _("Exporting: %(progress)s%%"),
            "done": _("Done. The bundle is ready."),
            "failed": _("The export failed."),
            "error": _("The request failed: %(error)s"),
        },
    }
