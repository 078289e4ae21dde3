from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from portal import views

# Media (snapshots, import files) is personal data: it is never served as public files, only by
# ward-scoped views such as the alert snapshot and the live frame.
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("map/", views.coverage_map, name="coverage-map"),
    path("ward/switch/", views.switch_ward, name="switch-ward"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("cameras/", include("cameras.urls")),
    path("", include("analytics.urls")),
    path("", include("watchlists.urls")),
    path("", include("incidents.urls")),
    path("api/", include("portal.api.urls", namespace="api")),
    path("admin/", admin.site.urls),
]
