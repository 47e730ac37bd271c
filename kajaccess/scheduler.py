"""The scheduler: one process that queues each periodic task for the workers on its cron line.

It runs no task itself; any worker takes each run from the queue. A task whose last run
still waits there (every worker busy) is not queued again, so a backlog never piles up
runs of the same task. The schedule is `settings.PERIODIC_TASKS`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import close_old_connections
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks import TaskResultStatus
from django_tasks.base import Task
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

CRON_FIELDS = ["minute", "hour", "day", "month", "day_of_week"]


@dataclass(frozen=True)
class PeriodicTask:
    task: Task
    cron: str
    trigger: CronTrigger

    def next_run(self, *, now: datetime | None = None) -> datetime:
        return self.trigger.get_next_fire_time(None, now or timezone.now())


def cron_trigger(line: str) -> CronTrigger:
    """The trigger of a cron line; a ValueError says what is wrong with the line."""
    values = line.split()
    if len(values) not in (5, 6):
        raise ValueError(f"it has {len(values)} fields, not 5 (or 6 with the seconds first)")
    fields = dict(zip(["second", *CRON_FIELDS][-len(values) :], values, strict=True))
    if any(character.isdigit() for character in fields["day_of_week"]):
        # APScheduler counts weekdays from Monday = 0, cron from Sunday = 0: a number would
        # quietly mean another day.
        raise ValueError("write the weekday as a word (Mon, Tue, ... Sun), not a number")
    return CronTrigger(**fields, timezone=timezone.get_default_timezone())


def periodic_tasks() -> list[PeriodicTask]:
    """`settings.PERIODIC_TASKS`, read and checked; ImproperlyConfigured names a bad entry."""
    schedule = []
    for path, line in settings.PERIODIC_TASKS.items():
        try:
            task = import_string(path)
        except ImportError as error:
            raise ImproperlyConfigured(f"PERIODIC_TASKS: no task {path} ({error}).") from error
        if not isinstance(task, Task):
            raise ImproperlyConfigured(f"PERIODIC_TASKS: {path} is not a task.")
        try:
            trigger = cron_trigger(line)
        except ValueError as error:
            raise ImproperlyConfigured(
                f"PERIODIC_TASKS: the schedule of {task.name}, “{line}”, is not a cron line: "
                f"{error}."
            ) from error
        schedule.append(PeriodicTask(task=task, cron=line, trigger=trigger))
    return schedule


def is_waiting(task: Task) -> bool:
    """A run of this task waits in the database queue for a worker."""
    if not isinstance(task.get_backend(), DatabaseBackend):
        return False
    return DBTaskResult.objects.filter(
        task_path=task.module_path, status=TaskResultStatus.READY
    ).exists()


def enqueue_unless_waiting(task: Task) -> bool:
    """Queue a run of the task unless one already waits; True if it did."""
    # The scheduler's threads live for days: a connection closed by the database or
    # past CONN_MAX_AGE is replaced rather than failing the run.
    close_old_connections()
    try:
        if is_waiting(task):
            return False
        task.enqueue()
        return True
    finally:
        close_old_connections()


def build_scheduler(
    schedule: list[PeriodicTask],
    *,
    report: Callable[[str], object] = lambda line: None,
    report_backlog: Callable[[str], object] | None = None,
) -> BackgroundScheduler:
    """A scheduler that queues each task of the schedule on its cron line.

    It reports each run it queues to `report`, and each run it leaves out because the
    last one still waits to `report_backlog` (by default `report` too).
    """
    report_backlog = report_backlog or report

    def queue(periodic: PeriodicTask) -> None:
        if enqueue_unless_waiting(periodic.task):
            report(f"Queued {periodic.task.name}.")
        else:
            report_backlog(
                f"{periodic.task.name} not queued: its last run still waits for a worker."
            )

    scheduler = BackgroundScheduler(timezone=timezone.get_default_timezone())
    for periodic in schedule:
        scheduler.add_job(
            queue,
            periodic.trigger,
            args=[periodic],
            id=periodic.task.module_path,
            name=f"{periodic.task.name} ({periodic.cron})",
            # A scheduler that was held up queues one late run, not every missed one.
            coalesce=True,
            misfire_grace_time=None,
        )
    return scheduler
