"""Forms of the case pages. They only parse input; the services validate and write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.gis.geos import Point
from django.utils.translation import gettext_lazy as _

from incidents.models import Incident

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local", "step": 1}, format="%Y-%m-%dT%H:%M:%S")


class CaseForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    type = forms.ChoiceField(label=_("Type"), choices=Incident.Type.choices)
    occurred_at = forms.DateTimeField(label=_("Occurred at"), widget=DATETIME)
    latitude = forms.FloatField(label=_("Latitude"), required=False, min_value=-90, max_value=90)
    longitude = forms.FloatField(label=_("Longitude"), required=False, min_value=-180, max_value=180)
    narrative = forms.CharField(label=_("Narrative"), required=False, widget=forms.Textarea(attrs={"rows": 4}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        lat, lon = data.get("latitude"), data.get("longitude")
        if (lat is None) != (lon is None):
            raise forms.ValidationError(_("Give both latitude and longitude, or neither."))
        data["location"] = Point(lon, lat, srid=4326) if lat is not None else None
        return data


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=Incident.Status.choices)
    note = forms.CharField(required=False, max_length=4000)


class UploadForm(forms.Form):
    file = forms.FileField(label=_("File"), allow_empty_file=True)
    note = forms.CharField(label=_("Note"), required=False, max_length=4000)


class ClipForm(forms.Form):
    camera = forms.IntegerField(label=_("Camera"))
    start = forms.DateTimeField(label=_("From"), widget=DATETIME)
    end = forms.DateTimeField(label=_("To"), widget=DATETIME)
    note = forms.CharField(label=_("Note"), required=False, max_length=4000)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=4000)
