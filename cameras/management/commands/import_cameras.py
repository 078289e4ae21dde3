import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from cameras.importer import ImportFileError, import_file
from portal.models import Ward


class Command(BaseCommand):
    help = (
        "Import legacy cameras from CSV or GeoJSON. Every row is checked first; the cameras are saved "
        "only if all rows are good (all or none). --dry-run checks without saving."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path")
        parser.add_argument("--ward", help="slug of the ward for rows without a ward column")
        parser.add_argument("--dry-run", action="store_true", help="check every row, save nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        if path.stat().st_size > settings.CAMERA_IMPORT_MAX_BYTES:
            raise CommandError(f"{path}: larger than CAMERA_IMPORT_MAX_BYTES ({settings.CAMERA_IMPORT_MAX_BYTES} bytes)")
        wards = list(Ward.objects.all())
        default = None
        if options["ward"]:
            default = next((w for w in wards if w.slug == options["ward"]), None)
            if default is None:
                raise CommandError(f"unknown ward {options['ward']!r}; known: {', '.join(w.slug for w in wards)}")
        try:
            report = import_file(
                data=path.read_bytes(),
                filename=path.name,
                wards=wards,
                default_ward=default,
                actor=None,
                dry_run=options["dry_run"],
            )
        except ImportFileError as exc:
            raise CommandError(f"{path}: {exc}") from exc
        for error in report.errors:
            self.stderr.write(f"{path}:{report.line_label} {error.line}: {error.column}: {error.message}")
        self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False))
        if not report.ok:
            raise CommandError(f"{len(report.errors)} error(s) in {report.rows} rows: nothing saved")
