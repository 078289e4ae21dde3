from typing import Any

from django.contrib import admin
from leaflet.admin import LeafletGeoAdmin

from cameras.models import Camera, Funding, Site, Sponsor
from cameras.services import save_camera
from portal.services import save_owned


@admin.register(Camera)
class CameraAdmin(LeafletGeoAdmin):
    list_display = ["code", "name", "ward", "old_ward", "status", "kind", "programme"]
    list_filter = ["ward", "status", "kind", "programme"]
    search_fields = ["code", "name", "address"]
    exclude = ["stream_username", "stream_password"]
    readonly_fields = ["old_ward"]

    def save_model(self, request: Any, obj: Camera, form: Any, change: bool) -> None:
        save_camera(camera=obj, actor=request.user, request=request)


class OwnedAdmin(LeafletGeoAdmin):
    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        save_owned(obj=obj, actor=request.user, request=request)


@admin.register(Site)
class SiteAdmin(OwnedAdmin):
    list_display = ["code", "name", "ward"]
    list_filter = ["ward"]


@admin.register(Sponsor)
class SponsorAdmin(OwnedAdmin):
    list_display = ["name", "ward"]
    list_filter = ["ward"]


@admin.register(Funding)
class FundingAdmin(OwnedAdmin):
    list_display = ["sponsor", "amount_vnd", "date", "ward"]
    list_filter = ["ward"]
    filter_horizontal = ["cameras"]
