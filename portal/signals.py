"""Sign-in and failed sign-in go to the audit log, for the portal and the API alike."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from portal.services import audit, client_ip, home_ward_id


@receiver(user_logged_in)
def audit_sign_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit(action="sign_in", actor=user, ward=home_ward_id(user), ip=client_ip(request))


@receiver(user_login_failed)
def audit_failed_sign_in(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    username = str(credentials.get("username", ""))[:150]
    audit(action="sign_in_failed", actor_name=username, ip=client_ip(request))
