from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from portal.api.base import WardFilterSet, WardScopedViewSet
from portal.models import Ward
from watchlists import services
from watchlists.api import serializers as s
from watchlists.models import WatchlistEntry


class WatchlistEntryFilterSet(WardFilterSet):
    class Meta:
        model = WatchlistEntry
        fields = ["ward", "status", "kind"]


class WatchlistEntryViewSet(WardScopedViewSet):
    """Watchlist entries of your wards (investigators and admins), newest first.

    POST proposes an entry; ``approve`` (another admin of its ward than the proposer), ``reject`` and
    ``revoke`` decide it. Only active entries (approved, not expired) raise alerts. Entries are never
    edited or deleted: revoke one and propose another.
    """

    http_method_names = ["get", "post", "head", "options"]
    queryset = (
        WatchlistEntry.objects.select_related("ward", "proposed_by", "approved_by", "closed_by")
        .defer("ward__boundary", "embedding")
        .prefetch_related(Prefetch("covered_wards", queryset=Ward.objects.only("id", "slug")))
        .order_by("-created_at", "-id")
    )
    serializer_class = s.WatchlistEntrySerializer
    filterset_class = WatchlistEntryFilterSet

    def _done(self, entry: WatchlistEntry) -> Response:
        entry = self.get_queryset().get(pk=entry.pk)
        return Response(s.WatchlistEntrySerializer(entry, context=self.get_serializer_context()).data)

    @extend_schema(request=s.ApproveSerializer, responses=s.WatchlistEntrySerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        """Approve a pending entry (an admin of its ward who did not propose it)."""
        entry = self.get_object()
        form = s.ApproveSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        return self._done(services.approve(entry=entry, actor=request.user, note=form.validated_data["note"], request=request))

    @extend_schema(request=s.CloseSerializer, responses=s.WatchlistEntrySerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        entry = self.get_object()
        form = s.CloseSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        return self._done(services.reject(entry=entry, actor=request.user, reason=form.validated_data["reason"], request=request))

    @extend_schema(request=s.CloseSerializer, responses=s.WatchlistEntrySerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        entry = self.get_object()
        form = s.CloseSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        return self._done(services.revoke(entry=entry, actor=request.user, reason=form.validated_data["reason"], request=request))

    @extend_schema(responses=s.WatchlistHitSerializer(many=True))
    @action(detail=True, methods=["get"])
    def hits(self, request: Request, pk: str | None = None) -> Any:
        """The sightings that matched this entry, newest first."""
        entry = self.get_object()
        page = self.paginate_queryset(entry.hits.order_by("-seen_at", "-id"))
        data = s.WatchlistHitSerializer(page, many=True).data
        return self.get_paginated_response(data)
