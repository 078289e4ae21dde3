"""``manage.py verify_bundle BUNDLE.zip``: check an export bundle against this deployment's signing key."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidents.keys import deployment_keys
from incidents.verify import render, verify_bundle


class Command(BaseCommand):
    help = (
        "Check an exported bundle: signature (by this deployment's key, or --fingerprint), every file's "
        "hash and size, the custody chain and the C2PA credentials. Exit status 1 when anything does not match."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("bundle")
        parser.add_argument("--fingerprint", action="append", default=[], help="trust this key instead of the deployment's")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        trusted = options["fingerprint"] or [deployment_keys().fingerprint]
        report = verify_bundle(options["bundle"], trusted_keys=trusted)
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        else:
            self.stdout.write(render(report), ending="")
        if not report.ok:
            raise CommandError(report.fatal or f"{len(report.failed)} item(s) do not match", returncode=2 if report.fatal else 1)
