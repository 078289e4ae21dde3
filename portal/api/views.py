from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate, user_logged_in
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, permissions, status
from rest_framework.authtoken.models import Token
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cameras.coverage import ward_coverage
from cameras.models import Camera
from portal.api import serializers as s
from portal.api.base import WardFilterSet, WardScopedViewSet
from portal.models import Membership, OldWard, Ward


class WardFilter(WardFilterSet):
    class Meta:
        model = Ward
        fields = ["ward"]


class OldWardFilter(WardFilterSet):
    class Meta:
        model = OldWard
        fields = ["ward"]


class WardViewSet(WardScopedViewSet):
    """Your wards with their boundaries (``?format=geojson`` for the map), and their coverage."""

    http_method_names = ["get", "head", "options"]
    queryset = Ward.objects.order_by("name")
    serializer_class = s.WardSerializer
    geojson_serializer_class = s.WardLayerSerializer
    filterset_class = WardFilter

    @extend_schema(
        responses=s.WardCoverageSerializer,
        parameters=[
            OpenApiParameter("status", str, many=True, description="Camera statuses that count (default: all but planned).")
        ],
    )
    @action(detail=True, methods=["get"])
    def coverage(self, request: Request, pk: str | None = None) -> Response:
        """Covered share of the ward and of each old ward by the cameras' field-of-view sectors."""
        ward = self.get_object()
        statuses = request.query_params.getlist("status") or None
        if statuses:
            unknown = sorted(set(statuses) - set(Camera.Status.values))
            if unknown:
                raise exceptions.ValidationError(
                    {
                        "status": [
                            _("Unknown status %(s)s; use %(known)s.")
                            % {"s": ", ".join(unknown), "known": ", ".join(Camera.Status.values)}
                        ]
                    }
                )
        result = ward_coverage(ward, statuses=statuses)
        return Response(s.WardCoverageSerializer(result).data)


class OldWardViewSet(WardScopedViewSet):
    queryset = OldWard.objects.select_related("ward").order_by("ward__name", "name")
    serializer_class = s.OldWardSerializer
    geojson_serializer_class = s.OldWardLayerSerializer
    filterset_class = OldWardFilter


class MeView(APIView):
    """Who you are: your memberships (ward and role) and home ward."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=s.MeSerializer)
    def get(self, request: Request) -> Response:
        user: Any = request.user
        memberships = Membership.objects.filter(user=user).select_related("ward").order_by("-is_home", "ward__name")
        data = {
            "username": user.get_username(),
            "full_name": user.get_full_name(),  # type: ignore[union-attr]
            "is_superuser": user.is_superuser,
            "memberships": memberships,
        }
        return Response(s.MeSerializer(data).data)


class TokenView(APIView):
    """Exchange a username and password for an API token (send it as ``Authorization: Token …``)."""

    permission_classes = [permissions.AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(request=s.TokenRequestSerializer, responses={200: s.TokenResponseSerializer})
    def post(self, request: Request) -> Response:
        form = s.TokenRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        user = authenticate(request._request, **form.validated_data)
        if user is None or not user.is_active:
            return Response({"detail": _("Wrong username or password.")}, status=status.HTTP_400_BAD_REQUEST)
        token, _created = Token.objects.get_or_create(user=user)
        user_logged_in.send(sender=type(user), request=request._request, user=user)
        return Response({"token": token.key})
