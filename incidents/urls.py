"""Case pages and the public bundle checker."""

from django.urls import path

from incidents import views

urlpatterns = [
    path("cases/", views.case_list, name="case-list"),
    path("cases/<int:pk>/", views.case_detail, name="case-detail"),
    path("cases/<int:pk>/status/", views.case_status, name="case-status"),
    path("cases/<int:pk>/evidence/", views.case_evidence, name="case-evidence"),
    path("cases/<int:pk>/release-hold/", views.case_release_hold, name="case-release-hold"),
    # Public: anyone holding a bundle can check it here (no login).
    path("verify/", views.verify_page, name="verify-bundle"),
]
