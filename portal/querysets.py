"""The one scoping choke point: every ward-owned query goes through ``restrict``.

``restrict(user, action)`` keeps only rows of wards where ``user`` holds a role allowed to do
``action`` ("view" or "change"). Base viewsets, serializers, filtersets and pages call it; no view
filters by ward on its own. Superusers (platform operators, not ward staff) see every ward.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    from portal.models import Ward

    User = AbstractBaseUser | AnonymousUser


# Which roles may do what. A model may narrow "view" with ``ward_view_roles``.
VIEW = "view"
CHANGE = "change"
ALL_ROLES = frozenset({"official", "operator", "investigator", "admin"})
CHANGE_ROLES = frozenset({"admin"})


def roles_for(model: type[models.Model], action: str) -> frozenset[str]:
    if action == CHANGE:
        return frozenset(getattr(model, "ward_change_roles", CHANGE_ROLES))
    return frozenset(getattr(model, "ward_view_roles", ALL_ROLES))


def ward_ids_for(user: Any, roles: frozenset[str]) -> list[int] | None:
    """Ids of the wards where ``user`` has one of ``roles``; ``None`` means every ward."""
    if user is None or not user.is_authenticated or not user.is_active:
        return []
    if user.is_superuser:
        return None
    cache = user.__dict__.setdefault("_ward_ids_cache", {})
    key = tuple(sorted(roles))
    if key not in cache:
        from portal.models import Membership

        cache[key] = list(Membership.objects.filter(user=user, role__in=roles).values_list("ward_id", flat=True).distinct())
    return list(cache[key])


class WardOwnedQuerySet(models.QuerySet):
    def for_ward(self, ward: Ward | int) -> WardOwnedQuerySet:
        return self.filter(ward=ward)

    def restrict(self, user: Any, action: str = VIEW) -> WardOwnedQuerySet:
        ids = ward_ids_for(user, roles_for(self.model, action))
        if ids is None:
            return self
        return self.filter(ward_id__in=ids)


class WardQuerySet(models.QuerySet):
    def restrict(self, user: Any, action: str = VIEW) -> WardQuerySet:
        ids = ward_ids_for(user, ALL_ROLES if action == VIEW else CHANGE_ROLES)
        if ids is None:
            return self
        return self.filter(id__in=ids)
