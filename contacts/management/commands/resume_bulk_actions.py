from django.core.management.base import BaseCommand
from django.utils.translation import ngettext

from contacts.bulk.recovery import resume_stalled_bulk_actions


class Command(BaseCommand):
    help = (
        "Queue again every pending or running bulk action that has done no chunk for "
        "BULK_ACTION_STALL_SECONDS, as when its worker died; the scheduler does the same "
        "every 20 seconds. A resumed run goes on after its last finished chunk and changes "
        "nothing twice."
    )

    def handle(self, *args, **options):
        resumed = resume_stalled_bulk_actions()
        if not resumed:
            self.stdout.write("No stopped bulk action to resume.")
            return
        ids = ", ".join(f"#{pk}" for pk in resumed)
        queued = ngettext(
            "Queued %d stopped bulk action again",
            "Queued %d stopped bulk actions again",
            len(resumed),
        )
        self.stdout.write(f"{queued % len(resumed)}: {ids}.")
