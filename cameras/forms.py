from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.gis.gdal import GDALException
from django.core.exceptions import ValidationError
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from leaflet.forms.widgets import LeafletWidget

from cameras.importer import MAX_ROWS
from cameras.models import Camera, Site, Sponsor
from cameras.services import validate_camera
from cameras.validators import split_stream_url
from portal.models import Ward


class PointWidget(LeafletWidget):
    """Showing a refused value again must not fail: Django's widget does not expect GDAL's own error."""

    def deserialize(self, value: Any) -> Any:
        try:
            return super().deserialize(value)
        except GDALException:
            return None


class CameraForm(forms.ModelForm):
    """Edit page for admins. A blank password keeps the stored one; it is never shown back."""

    stream_password = forms.CharField(
        label=_("stream password"),
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Leave blank to keep the stored password."),
    )
    stream_username = forms.CharField(
        label=_("stream username"), required=False, max_length=200, help_text=_("Leave blank to keep the stored username.")
    )

    class Meta:
        model = Camera
        fields = [
            "code",
            "name",
            "address",
            "location",
            "heading",
            "fov_angle",
            "range_m",
            "kind",
            "programme",
            "status",
            "site",
            "sponsor",
            "installed_on",
            "cost_vnd",
            "main_stream_url",
            "sub_stream_url",
            "stream_username",
            "stream_password",
            "retention_days",
            "analysis_fps",
        ]
        widgets = {
            "location": PointWidget(attrs={"geom_type": "Point"}),
            "installed_on": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args: Any, ward: Ward, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ward = ward
        self.instance.ward = ward
        site_field: Any = self.fields["site"]
        sponsor_field: Any = self.fields["sponsor"]
        site_field.queryset = Site.objects.for_ward(ward)
        sponsor_field.queryset = Sponsor.objects.for_ward(ward)
        # Credentials are never shown back: both inputs start blank and blank keeps what is stored.
        self._stored = {name: getattr(self.instance, name) for name in ("stream_username", "stream_password")}
        self.initial["stream_username"] = ""

    def clean_location(self) -> Any:
        location = self.cleaned_data.get("location")
        if location is not None and location.empty:
            raise ValidationError(_("The point has no coordinates: give longitude and latitude."))
        if location is not None and location.hasz:
            raise ValidationError(_("Give longitude and latitude only: heights are not stored."))
        return location

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]
        for name, stored in self._stored.items():
            if not self.cleaned_data.get(name):
                setattr(self.instance, name, stored)
        if self.errors:
            return
        # Position checks and derived fields run on the instance once the form has filled it.
        try:
            validate_camera(self.instance)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, messages)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        # If the page comes back with errors, never echo credentials typed into a stream URL.
        submitted: Any = self.data
        echoed = submitted.copy()
        for name in ("main_stream_url", "sub_stream_url"):
            try:
                echoed[name] = split_stream_url(str(self.data.get(name, "")))[0]
            except ValidationError:
                echoed[name] = ""
        self.data = echoed
        return data


class ImportForm(forms.Form):
    file = forms.FileField(label=_("CSV or GeoJSON file"), help_text=format_lazy(_("At most {n} cameras per file."), n=MAX_ROWS))
    ward = forms.ModelChoiceField(label=_("Ward for rows without a ward column"), queryset=Ward.objects.none(), required=False)

    def __init__(self, *args: Any, wards: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ward_field: Any = self.fields["ward"]
        ward_field.queryset = wards

    def clean_file(self) -> Any:
        from django.conf import settings

        upload = self.cleaned_data["file"]
        if upload.size > settings.CAMERA_IMPORT_MAX_BYTES:
            raise ValidationError(
                _("The file is %(size)d bytes; the limit is %(max)d. Split it into smaller files.")
                % {"size": upload.size, "max": settings.CAMERA_IMPORT_MAX_BYTES}
            )
        return upload
