from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from purchases.billing import runs as billing
from purchases.billing import services as billing_services


def parse_now(value: str | None) -> datetime:
    """`--now` lets a run act as if it were another moment (ISO date or date and time)."""
    if not value:
        return timezone.now()
    try:
        moment = parse_datetime(value)
        if moment is None and (day := parse_date(value)) is not None:
            moment = billing_services.start_of(day)
    except ValueError:
        moment = None
    if moment is None:
        raise CommandError(
            f"--now must be an ISO date or date and time, like 2026-05-01T09:00 (got “{value}”)."
        )
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


class Command(BaseCommand):
    help = (
        "Revoke every grant whose access period is over (revoked_via expiry), end every "
        "subscription whose cancellation date has come, and resume every pause whose date "
        "has come."
    )

    def add_arguments(self, parser):
        parser.add_argument("--now", help="Act as if it were this moment (ISO date and time).")

    def handle(self, *args, now=None, **options):
        sweep = billing.process_access(now=parse_now(now))
        self.stdout.write(str(sweep))
