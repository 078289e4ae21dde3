from django.urls import path

from analytics import plate_views, settings_views, views

urlpatterns = [
    path("ops/", views.ops, name="ops"),
    path("wall/", views.wall, name="wall"),
    path("alerts/<int:pk>/snapshot/", views.alert_snapshot, name="alert-snapshot"),
    path("cameras/<int:pk>/analysis/", settings_views.camera_analysis, name="camera-analysis"),
    path("cameras/<int:pk>/analysis/snapshot.jpg", settings_views.analysis_snapshot, name="camera-analysis-snapshot"),
    path("cameras/<int:pk>/analysis/snapshot/", settings_views.analysis_snapshot_upload, name="camera-analysis-upload"),
    path("ward/faces/", settings_views.ward_faces, name="ward-faces"),
    path("clips/", views.clip_new, name="clip-new"),
    path("clips/<int:pk>/", views.clip_job, name="clip-job"),
    path("clips/<int:pk>/frames/<int:index>.jpg", views.clip_frame, name="clip-frame"),
    path("clips/<int:pk>/plates/<int:read>.jpg", views.clip_plate, name="clip-plate"),
    path("investigations/plates/", plate_views.plate_search, name="plate-search"),
]
