"""The demo data: two schools, their team, support staff and customers in every state.

    python manage.py seed_demo               # the named demo content and 200 generated contacts
    python manage.py seed_demo --contacts N  # make sure N generated contacts exist
    python manage.py seed_demo --reset       # delete the demo schools and logins, then rebuild

Running it again creates nothing twice. It is built in kajaccess.demo, through the same
services as every other change of access, billing and tags.
"""

from django.core.management.base import BaseCommand

from kajaccess.demo.build import seed_demo


class Command(BaseCommand):
    help = "Load the demo schools, logins and customers (re-runnable; --reset rebuilds)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--contacts",
            type=int,
            default=200,
            help="How many generated contacts Demo Academy has (default 200).",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete the demo schools and logins first, then build them again.",
        )

    def handle(self, *args, contacts: int, reset: bool, **options):
        done = seed_demo(contacts=contacts, reset=reset, report=self.stdout.write)
        self.stdout.write(self.style.SUCCESS(done))
