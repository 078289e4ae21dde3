from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Portal and tenancy")

    def ready(self) -> None:
        from portal import signals  # noqa: F401
