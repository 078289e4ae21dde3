"""The watchlist page's forms: propose an entry; reject or revoke one (with the reason)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.models import Ward
from watchlists.models import DEFAULT_FACE_THRESHOLD, Priority, WatchlistEntry

DEFAULT_DAYS = 30


class ProposeForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=WatchlistEntry.Kind.choices, initial=WatchlistEntry.Kind.PLATE)
    plate = forms.CharField(
        label=_("Plate"),
        max_length=32,
        required=False,
        help_text=_("As on the plate, e.g. 51F-123.45 or 59-X1 234.56; reads with OCR slips (0/O, 1/I, 8/B…) still match."),
    )
    face_sighting = forms.IntegerField(
        label=_("Face sighting id"),
        required=False,
        min_value=1,
        help_text=_("Face entries only, where the ward enabled faces: the id of the sighting whose face is wanted."),
    )
    threshold = forms.FloatField(
        label=_("Face match threshold"),
        required=False,
        min_value=0.1,
        max_value=1.0,
        initial=DEFAULT_FACE_THRESHOLD,
        help_text=_("Face entries only: largest descriptor distance counted as a match (0.6 usual; lower is stricter)."),
    )
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    legal_basis = forms.CharField(
        label=_("Legal basis"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The decision or provision that allows watching for it."),
    )
    priority = forms.TypedChoiceField(label=_("Priority"), choices=Priority.choices, coerce=int, initial=Priority.HIGH)
    covered_wards = forms.ModelMultipleChoiceField(
        label=_("Covered wards"),
        queryset=Ward.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("A hit raises an alert in each of these wards; this ward is always one of them."),
    )
    expires_at = forms.DateTimeField(
        label=_("Expires at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Ho Chi Minh City time; at most %(days)d days from now.") % {"days": settings.WATCHLIST_MAX_DAYS},
    )

    def __init__(self, *args: Any, wards: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["covered_wards"]
        field.queryset = wards
        self.fields["expires_at"].initial = timezone.localtime(timezone.now() + dt.timedelta(days=DEFAULT_DAYS)).replace(
            second=0, microsecond=0
        )


class CloseForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=2000)
