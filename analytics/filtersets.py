import django_filters
from django.db.models import QuerySet

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
    job = django_filters.NumberFilter(field_name="job_id", help_text="Alerts a rule raised on this clip analysis.")
    source = django_filters.ChoiceFilter(
        choices=[("live", "live"), ("clip", "clip"), ("all", "all")],
        method="filter_source",
        help_text="live (the default): alerts of the cameras' streams and manual ones; clip: raised on uploaded clips; all.",
    )

    class Meta:
        model = Alert
        fields = ["ward", "type", "status", "severity", "camera", "job"]

    def filter_source(self, queryset: QuerySet[Alert], name: str, value: str) -> QuerySet[Alert]:
        if value == "live":
            return queryset.filter(job__isnull=True)
        if value == "clip":
            return queryset.filter(job__isnull=False)
        return queryset


class AlertEventFilterSet(WardFilterSet):
    after = django_filters.NumberFilter(field_name="id", lookup_expr="gt", help_text="Events after this id (the sequence).")
    alert = django_filters.NumberFilter(field_name="alert_id")

    class Meta:
        model = AlertEvent
        fields = ["ward", "alert"]
