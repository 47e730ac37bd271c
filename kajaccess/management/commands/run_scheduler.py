import signal
import time

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from kajaccess.scheduler import build_scheduler, periodic_tasks

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


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
        # Each run queued is a line only at -v 2: the recovery alone runs every 20 seconds.
        scheduler = build_scheduler(
            schedule,
            report=self.stdout.write if options["verbosity"] > 1 else lambda line: None,
            report_backlog=self.stderr.write,
        )
        # The handler only takes note: Ctrl-C under `make run` comes twice (the terminal's
        # SIGINT, then make's SIGTERM), and neither may break into the shutdown.
        stop = []
        for number in STOP_SIGNALS:
            signal.signal(number, lambda number, frame: stop.append(number))
        scheduler.start()
        self.stdout.write("Scheduler running; Ctrl-C stops it.")
        while not stop:
            time.sleep(0.5)
        scheduler.shutdown()
        self.stdout.write("Scheduler stopped.")
