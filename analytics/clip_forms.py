"""The "Analyse a clip" form: the video, the camera that filmed it (optional), when it was filmed."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cameras.models import Camera


class ClipUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Video file"),
        help_text=format_lazy(_("MP4, AVI, MKV or MOV, at most {size}."), size=filesizeformat(settings.CLIP_MAX_BYTES)),
        widget=forms.ClearableFileInput(attrs={"accept": "video/*,.mp4,.avi,.mkv,.mov"}),
    )
    camera = forms.ModelChoiceField(
        label=_("Camera"),
        queryset=Camera.objects.none(),
        required=False,
        empty_label=_("— none (no zones or lines) —"),
        help_text=_("The camera that filmed it: its zones, lines and rules apply, and alerts are attached to it."),
    )
    recorded_at = forms.DateTimeField(
        label=_("Recorded at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": 1}, format="%Y-%m-%dT%H:%M:%S"),
        help_text=_("When the footage starts (Ho Chi Minh City time); empty: now. Times of results count from here."),
    )

    def __init__(self, *args: Any, ward: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        camera_field: Any = self.fields["camera"]
        camera_field.queryset = Camera.objects.filter(ward=ward).order_by("code")
        camera_field.label_from_instance = lambda camera: f"{camera.code} · {camera.name}"

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > settings.CLIP_MAX_BYTES:
            raise forms.ValidationError(
                gettext("The file is %(size)s; clips up to %(limit)s can be analysed. Cut it into shorter parts and upload each.")
                % {"size": filesizeformat(upload.size), "limit": filesizeformat(settings.CLIP_MAX_BYTES)}
            )
        if not upload.size:
            raise forms.ValidationError(gettext("The file is empty (0 bytes). Upload the video again."))
        return upload
