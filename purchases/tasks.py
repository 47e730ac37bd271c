"""Periodic work for the task worker: the billing run and the access sweep, which also
queues again any bulk action whose run stopped.

Each task does its work and then enqueues its own next run, one interval later
(`PERIODIC_TASK_INTERVAL_MINUTES`). Only one run of each task ever waits in the queue:
a run is enqueued only when none is waiting yet, so restarting the app, or two chains
meeting, never piles up duplicates (a chain that finds another one waiting stops).
`manage.py schedule_periodic_tasks`, run by `make run`, starts the chains.
"""

from datetime import timedelta

from django.conf import settings
from django.template.defaultfilters import pluralize
from django.utils import timezone
from django_tasks import TaskResultStatus, task
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from purchases.billing import runs as billing


def interval() -> timedelta:
    return timedelta(minutes=settings.PERIODIC_TASK_INTERVAL_MINUTES)


def is_waiting(periodic_task) -> bool:
    return DBTaskResult.objects.filter(
        task_path=periodic_task.module_path, status=TaskResultStatus.READY
    ).exists()


def schedule(periodic_task, *, delay: timedelta | None = None) -> bool:
    """Enqueue a run of a periodic task unless one is already waiting; True if it did.

    Backends that run tasks at once (the tests' immediate backend) keep no queue to
    repeat from: nothing is scheduled there.
    """
    backend = periodic_task.get_backend()
    if not backend.supports_defer:
        return False
    if isinstance(backend, DatabaseBackend) and is_waiting(periodic_task):
        return False
    if delay:
        periodic_task = periodic_task.using(run_after=timezone.now() + delay)
    periodic_task.enqueue()
    return True


@task()
def run_billing_task() -> str:
    try:
        return str(billing.run_billing())
    finally:
        schedule(run_billing_task, delay=interval())


@task()
def process_access_task() -> str:
    # Imported when the sweep runs, not with this module: bulk actions are the Contacts
    # tab's code, which purchases never loads at import time.
    from contacts.bulk.recovery import resume_stalled_bulk_actions

    try:
        sweep = billing.process_access()
        resumed = resume_stalled_bulk_actions()
        return f"{sweep}, {len(resumed)} stopped bulk action{pluralize(len(resumed))} queued again"
    finally:
        schedule(process_access_task, delay=interval())


PERIODIC_TASKS = [run_billing_task, process_access_task]
