from django.core.management.base import BaseCommand

from purchases.billing import runs as billing
from purchases.management.commands.process_access import parse_now


class Command(BaseCommand):
    help = (
        "Charge every active subscription and payment plan that is due, through the payment "
        "gateway of the PAYMENT_GATEWAY setting. Running it twice charges nothing twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("--now", help="Act as if it were this moment (ISO date and time).")

    def handle(self, *args, now=None, **options):
        run = billing.run_billing(now=parse_now(now))
        self.stdout.write(str(run))
