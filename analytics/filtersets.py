import django_filters

from analytics.models import Alert, AlertEvent, AlertType, Severity
from portal.api.base import WardFilterSet


class AlertFilterSet(WardFilterSet):
    type = django_filters.MultipleChoiceFilter(choices=AlertType.choices, distinct=False)
    status = django_filters.MultipleChoiceFilter(choices=Alert.Status.choices, distinct=False)
    severity = django_filters.MultipleChoiceFilter(choices=Severity.choices, distinct=False)
    min_severity = django_filters.NumberFilter(field_name="severity", lookup_expr="gte")
    camera = django_filters.NumberFilter(field_name="camera_id")
    since = django_filters.IsoDateTimeFilter(field_name="raised_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="raised_at", lookup_expr="lt")

    class Meta:
        model = Alert
        fields = ["ward", "type", "status", "severity", "camera"]


class AlertEventFilterSet(WardFilterSet):
    after = django_filters.NumberFilter(field_name="id", lookup_expr="gt", help_text="Events after this id (the sequence).")
    alert = django_filters.NumberFilter(field_name="alert_id")

    class Meta:
        model = AlertEvent
        fields = ["ward", "alert"]
