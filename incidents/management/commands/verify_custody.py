from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from incidents.models import CustodyEntry, Incident
from incidents.services import verify_custody


class Command(BaseCommand):
    help = "Re-compute every case's chain of custody (or one case's); exit non-zero naming each broken entry."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--case", help="Only this case: its id or number (e.g. TNP-2026-0001).")

    def handle(self, *args: Any, **options: Any) -> None:
        case = None
        if options["case"]:
            value = str(options["case"])
            lookup: dict[str, Any] = {"pk": int(value)} if value.isdigit() else {"number": value}
            case = Incident.objects.filter(**lookup).first()
            if case is None:
                raise CommandError(f"no case {value}")
        entries = CustodyEntry.objects.all() if case is None else CustodyEntry.objects.filter(case=case)
        checked = entries.count()
        broken = verify_custody(case=case)
        if broken:
            for rows in broken.values():
                for entry in rows:
                    self.stderr.write(f"broken: case {entry.case_number} entry #{entry.seq} (id {entry.pk}, {entry.action})")
            total = sum(len(rows) for rows in broken.values())
            raise CommandError(f"custody chain broken at {total} of {checked} entries in {len(broken)} case(s)")
        self.stdout.write(f"custody chains intact: {checked} entries")
