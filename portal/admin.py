from django.contrib import admin
from leaflet.admin import LeafletGeoAdmin

from portal.models import AuditEntry, Membership, OldWard, Ward


@admin.register(Ward)
class WardAdmin(LeafletGeoAdmin):
    list_display = ["name", "slug", "code", "faces_enabled"]
    prepopulated_fields = {"slug": ["name"]}
    # Faces are switched by the ward's admins on a camera's Analysis page, with the legal basis, audited.
    readonly_fields = ["faces_enabled"]


@admin.register(OldWard)
class OldWardAdmin(LeafletGeoAdmin):
    list_display = ["name", "ward"]
    list_filter = ["ward"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "ward", "role", "is_home"]
    list_filter = ["ward", "role"]
    search_fields = ["user__username"]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the log is written by services and verified by ``manage.py verify_audit``."""

    list_display = ["at", "actor_name", "action", "ward", "object_repr", "ip"]
    list_filter = ["action", "ward"]
    search_fields = ["actor_name", "object_repr", "reason"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
