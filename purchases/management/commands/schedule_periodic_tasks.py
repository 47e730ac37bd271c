from django.core.management.base import BaseCommand

from purchases.tasks import PERIODIC_TASKS, schedule


class Command(BaseCommand):
    help = (
        "Start the periodic billing run and access sweep in the task worker's queue. "
        "Safe to run at every start: a task already waiting is not enqueued again."
    )

    def handle(self, *args, **options):
        for periodic_task in PERIODIC_TASKS:
            if not periodic_task.get_backend().supports_defer:
                self.stdout.write(
                    f"{periodic_task.name} not scheduled: this task backend keeps no queue."
                )
            elif schedule(periodic_task):
                self.stdout.write(f"Scheduled {periodic_task.name}.")
            else:
                self.stdout.write(f"{periodic_task.name} is already scheduled.")
