from django.urls import path

from analytics import views

urlpatterns = [
    path("ops/", views.ops, name="ops"),
    path("wall/", views.wall, name="wall"),
    path("alerts/<int:pk>/snapshot/", views.alert_snapshot, name="alert-snapshot"),
]
