from typing import Any

from django.http import HttpRequest

from portal.models import Membership


def ward(request: HttpRequest) -> dict[str, Any]:
    """The current ward and the user's other wards, for the ward switcher in the header."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    memberships = list(Membership.objects.filter(user=user).select_related("ward").order_by("ward__name"))
    current = getattr(request, "ward", None)
    current = current if current else None
    role = next((m.role for m in memberships if current is not None and m.ward_id == current.pk), None)
    return {
        "current_ward": current,
        "current_role": "admin" if user.is_superuser else role,
        "my_memberships": memberships,
    }
