"""The REST API: every resource by plural name, OpenAPI schema and docs."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from analytics.api.clips import ClipJobViewSet
from analytics.api.plates import PlateReadViewSet, PlateRouteView
from analytics.api.results import FaceSightingViewSet, TrackViewSet
from analytics.api.settings import AnalysisSettingsViewSet
from analytics.api.views import AlertEventViewSet, AlertViewSet, WebhookDeliveryViewSet, WebhookViewSet
from cameras.api.segments import RecordingSegmentViewSet
from cameras.api.views import CameraImportViewSet, CameraViewSet, FundingViewSet, SiteViewSet, SponsorViewSet
from incidents.api.exports import CaseExportView, ExportJobViewSet, SigningKeyView, VerifyView
from incidents.api.views import CaseViewSet, EvidenceViewSet
from portal.api.views import MeView, OldWardViewSet, TokenView, WardViewSet
from watchlists.api.views import WatchlistEntryViewSet

app_name = "api"

router = DefaultRouter()
router.register("wards", WardViewSet, basename="ward")
router.register("old-wards", OldWardViewSet, basename="oldward")
router.register("cameras", CameraViewSet, basename="camera")
router.register("sites", SiteViewSet, basename="site")
router.register("sponsors", SponsorViewSet, basename="sponsor")
router.register("fundings", FundingViewSet, basename="funding")
router.register("camera-imports", CameraImportViewSet, basename="cameraimport")
router.register("alerts", AlertViewSet, basename="alert")
router.register("clip-jobs", ClipJobViewSet, basename="clipjob")
router.register("alert-events", AlertEventViewSet, basename="alertevent")
router.register("cases", CaseViewSet, basename="case")
router.register("evidence", EvidenceViewSet, basename="evidence")
router.register("exports", ExportJobViewSet, basename="exportjob")
router.register("webhooks", WebhookViewSet, basename="webhook")
router.register("webhook-deliveries", WebhookDeliveryViewSet, basename="webhookdelivery")
router.register("analysis-settings", AnalysisSettingsViewSet, basename="analysissettings")
router.register("tracks", TrackViewSet, basename="track")
router.register("plate-reads", PlateReadViewSet, basename="plateread")
router.register("face-sightings", FaceSightingViewSet, basename="facesighting")
router.register("recording-segments", RecordingSegmentViewSet, basename="recordingsegment")
router.register("watchlist", WatchlistEntryViewSet, basename="watchlistentry")

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="token"),
    path("me/", MeView.as_view(), name="me"),
    path("plate-route/", PlateRouteView.as_view(), name="plate-route"),
    path("cases/<int:pk>/export/", CaseExportView.as_view(), name="case-export"),
    path("signing-key/", SigningKeyView.as_view(), name="signing-key"),
    path("verify/", VerifyView.as_view(), name="verify"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("", include(router.urls)),
]
