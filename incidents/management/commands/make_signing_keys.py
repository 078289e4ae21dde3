"""``manage.py make_signing_keys``: make the deployment's export signing keys where missing (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from incidents.keys import ensure_keys, key_dir, load_keys


class Command(BaseCommand):
    help = "Make the Ed25519 manifest key and the C2PA certificate chain in SIGNING_KEY_DIR where missing; print the fingerprint."

    def handle(self, *args: Any, **options: Any) -> None:
        directory = key_dir()
        made = ensure_keys(directory)
        keys = load_keys(directory)
        if made:
            self.stdout.write(f"made {', '.join(made)} in {directory}")
        self.stdout.write(f"export signing key fingerprint: {keys.fingerprint}")
