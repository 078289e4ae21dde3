"""``request.ward``: the ward the user works in now (chosen in the UI, default the home ward)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from portal.models import Membership, Ward

SESSION_KEY = "matthan_ward_id"


def current_ward(request: HttpRequest) -> Ward | None:
    user = request.user
    if not user.is_authenticated:
        return None
    wards = Ward.objects.restrict(user)
    chosen = request.session.get(SESSION_KEY)
    if chosen:
        ward = wards.filter(pk=chosen).first()
        if ward is not None:
            return ward
    home = Membership.objects.filter(user=user).order_by("-is_home", "ward__name").select_related("ward").first()
    if home is not None:
        return home.ward
    return wards.order_by("name").first()


class CurrentWardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.ward = SimpleLazyObject(lambda: current_ward(request))  # type: ignore[attr-defined]
        return self.get_response(request)


class VietnameseFirstMiddleware:
    """Pages open in Vietnamese unless the user picked English with the switch (a cookie).

    The browser's Accept-Language is ignored for pages, so an officer on an English-language
    browser still gets the ward's language; API clients may still ask for English with it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/api/"):
            request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)
