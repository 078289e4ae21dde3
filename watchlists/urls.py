from django.urls import path

from watchlists import views

urlpatterns = [
    path("watchlist/", views.watchlist, name="watchlist"),
    *(
        path(f"watchlist/<int:pk>/{action}/", views.entry_action, {"action": action}, name=f"watchlist-{action}")
        for action in ("approve", "reject", "revoke")
    ),
]
