from __future__ import annotations

from typing import Any

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from analytics import outbound, services
from analytics.api import serializers as s
from analytics.filtersets import AlertEventFilterSet, AlertFilterSet
from analytics.models import Alert, AlertEvent, Webhook, WebhookDelivery
from portal.api.base import WardFilterSet, WardScopedViewSet


class AlertViewSet(WardScopedViewSet):
    """Alerts of your wards, newest first. POST raises a manual alert; the actions handle one."""

    http_method_names = ["get", "post", "head", "options"]
    queryset = Alert.objects.select_related("ward", "camera", "assigned_to").order_by("-raised_at", "-id")
    serializer_class = s.AlertSerializer
    filterset_class = AlertFilterSet

    def filter_queryset(self, queryset: Any) -> Any:
        queryset = super().filter_queryset(queryset)
        # Hits found in uploaded clips are not the duty officers' business: lists (operations room,
        # wall) show live alerts unless a clip (?job=) or a source (?source=clip|all) is asked for.
        params = self.request.query_params
        if self.action == "list" and "job" not in params and "source" not in params:
            queryset = queryset.filter(job__isnull=True)
        return queryset

    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def _done(self, alert: Alert) -> Response:
        alert = self.get_queryset().get(pk=alert.pk)
        return Response(s.AlertSerializer(alert, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses=s.AlertSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        return self._done(services.acknowledge(alert=self.get_object(), actor=request.user, request=request))

    @extend_schema(request=s.AssignSerializer, responses=s.AlertSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: str | None = None) -> Response:
        alert = self.get_object()
        form = s.AssignSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        return self._done(
            services.assign(alert=alert, actor=request.user, assignee=form.validated_data["assignee"], request=request)
        )

    @extend_schema(request=s.NoteSerializer, responses=s.AlertSerializer)
    @action(detail=True, methods=["post"])
    def note(self, request: Request, pk: str | None = None) -> Response:
        alert = self.get_object()
        form = s.NoteSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        return self._done(services.add_note(alert=alert, actor=request.user, note=form.validated_data["note"], request=request))

    @extend_schema(request=s.NoteSerializer, responses=s.AlertSerializer)
    @action(detail=True, methods=["post"])
    def escalate(self, request: Request, pk: str | None = None) -> Response:
        alert = self.get_object()
        form = s.NoteSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        return self._done(services.escalate(alert=alert, actor=request.user, note=form.validated_data["note"], request=request))

    @extend_schema(request=s.ReasonSerializer, responses=s.AlertSerializer)
    @action(detail=True, methods=["post"])
    def dismiss(self, request: Request, pk: str | None = None) -> Response:
        alert = self.get_object()
        form = s.ReasonSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        return self._done(
            services.dismiss(alert=alert, actor=request.user, reason=form.validated_data["reason"], request=request)
        )


class AlertEventViewSet(WardScopedViewSet):
    """The alert event log in sequence (``?after=<id>``): what the WebSocket pushes, for polling clients."""

    http_method_names = ["get", "head", "options"]
    queryset = AlertEvent.objects.select_related("ward", "actor").order_by("id")
    serializer_class = s.AlertEventSerializer
    filterset_class = AlertEventFilterSet


class WebhookFilterSet(WardFilterSet):
    class Meta:
        model = Webhook
        fields = ["ward", "active"]


class WebhookViewSet(WardScopedViewSet):
    """Webhooks of your wards (ward admins). The secret is shown once: in the response to the POST that creates the hook."""

    # Lists never show the secret: skip decrypting it (and the ward's boundary) for every row.
    queryset = Webhook.objects.select_related("ward").defer("secret", "ward__boundary").order_by("name", "id")
    serializer_class = s.WebhookSerializer
    filterset_class = WebhookFilterSet

    @extend_schema(responses={201: s.WebhookCreatedSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.perform_create(serializer)
        webhook: Any = serializer.instance
        data = {**serializer.data, "secret": webhook.secret}
        return Response(data, status=status.HTTP_201_CREATED, headers=self.get_success_headers(serializer.data))

    @extend_schema(request=None, responses={202: s.WebhookDeliverySerializer})
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str | None = None) -> Response:
        """Queue a signed ``ping`` to the hook (even an inactive one); follow it in the delivery log."""
        delivery = outbound.send_ping(webhook=self.get_object(), actor=request.user, request=request)
        data = s.WebhookDeliverySerializer(delivery, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_202_ACCEPTED)


class WebhookDeliveryFilterSet(WardFilterSet):
    webhook = django_filters.NumberFilter(field_name="webhook_id")
    status = django_filters.MultipleChoiceFilter(choices=WebhookDelivery.Status.choices, distinct=False)

    class Meta:
        model = WebhookDelivery
        fields = ["ward", "webhook", "status"]


class WebhookDeliveryViewSet(WardScopedViewSet):
    """The webhook delivery log (ward admins), newest first: attempts, last answer, next try."""

    http_method_names = ["get", "head", "options"]
    queryset = (
        WebhookDelivery.objects.select_related("ward", "webhook").defer("ward__boundary", "webhook__secret").order_by("-id")
    )
    serializer_class = s.WebhookDeliverySerializer
    filterset_class = WebhookDeliveryFilterSet


__all__: list[Any] = ["AlertEventViewSet", "AlertViewSet", "WebhookDeliveryViewSet", "WebhookViewSet"]
