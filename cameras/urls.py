from django.urls import path

from cameras import views

urlpatterns = [
    path("", views.camera_list, name="camera-list"),
    path("new/", views.camera_edit, name="camera-create"),
    path("import/", views.camera_import, name="camera-import"),
    path("<int:pk>/", views.camera_detail, name="camera-detail"),
    path("<int:pk>/edit/", views.camera_edit, name="camera-edit"),
    path("<int:pk>/live.jpg", views.camera_live, name="camera-live"),
]
