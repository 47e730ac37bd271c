import signal

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from kajaccess.scheduler import build_scheduler, periodic_tasks


def _stop(signum, frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


class Command(BaseCommand):
    help = (
        "Queue the periodic tasks (billing run, access sweep, recovery of stopped bulk "
        "actions) for the workers on their cron lines in PERIODIC_TASKS, until stopped. "
        "Run exactly one, beside any number of `db_worker`s."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--list", action="store_true", help="Print the schedule and its next runs, then exit."
        )

    def handle(self, *args, **options):
        try:
            schedule = periodic_tasks()
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from error
        for periodic in schedule:
            next_run = periodic.next_run().isoformat(sep=" ", timespec="seconds")
            self.stdout.write(f"{periodic.task.name}: {periodic.cron}  (next run {next_run})")
        if options["list"]:
            return
        scheduler = build_scheduler(schedule, report=self.stdout.write)
        # `kill` and the Ctrl-C of `make run` stop it the same way: no run is left half
        # queued, since queueing one is a single insert.
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGHUP, _stop)
        self.stdout.write("Scheduler running; Ctrl-C stops it.")
        try:
            scheduler.start()
        except KeyboardInterrupt:
            scheduler.shutdown(wait=False)
            self.stdout.write("Scheduler stopped.")
