"""The demo data: two schools, their team, support staff and customers in every state.

    python manage.py seed_demo               # the named demo content and 200 generated contacts
    python manage.py seed_demo --contacts N  # make sure N generated contacts exist
    python manage.py seed_demo --reset       # delete the demo schools and logins, then rebuild
    python manage.py seed_demo --contacts 1000000 --copy-block 10000
                                             # replay 10,000 stories, copy them for the rest

Running it again creates nothing twice. It is built in kajaccess.demo, through the same
services as every other change of access, billing and tags.
"""

import time

from django.core.management.base import BaseCommand

from kajaccess.demo.build import seed_demo
from kajaccess.demo.copies import grow_demo_academy, refresh_all_access_facts
from kajaccess.demo.named import DEMO_ACADEMY
from kajaccess.models import Site


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

        parser.add_argument(
            "--copy-block",
            type=int,
            default=0,
            help="Replay only this many stories, and make the other contacts copies of them "
            "(table speed; --contacts a multiple of it).",
        )

    def handle(self, *args, contacts: int, reset: bool, copy_block: int, **options):
        replayed = min(contacts, copy_block) if copy_block else contacts
        done = seed_demo(contacts=replayed, reset=reset, report=self.stdout.write)
        self.stdout.write(self.style.SUCCESS(done))
        if copy_block and contacts > replayed:
            site = Site.objects.get(slug=DEMO_ACADEMY)
            started = time.monotonic()
            added = grow_demo_academy(
                site=site, contacts=contacts, block=copy_block, report=self.stdout.write
            )
            refreshed = refresh_all_access_facts()
            self.stdout.write(
                self.style.SUCCESS(
                    f"Copied {added:,} contacts in {time.monotonic() - started:.1f} s"
                    f" ({refreshed})."
                )
            )
