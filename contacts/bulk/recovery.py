"""Bulk actions whose worker stopped: found by their heartbeat and queued again.

A live run moves `BulkAction.heartbeat_at` after every chunk, about once a second, and
holds the BulkAction's row lock while it works on one. A run whose heartbeat is older
than `BULK_ACTION_STALL_SECONDS` and whose row is not locked has no worker any more: its
task in the queue is marked failed, the stop is written down for its page, and the run
is queued again, to go on after the last chunk it committed.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import ngettext
from django_tasks import TaskResultStatus, task
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from contacts.bulk.runner import run_bulk_action_task
from purchases.models import BulkAction

UNFINISHED = [BulkAction.Status.PENDING, BulkAction.Status.RUNNING]


class WorkerStopped(Exception):
    """The worker running a bulk action stopped before the run was done (killed, crashed)."""


def stall_limit() -> timedelta:
    return timedelta(seconds=settings.BULK_ACTION_STALL_SECONDS)


def stalled_bulk_actions(*, now: datetime | None = None) -> QuerySet:
    """Unfinished bulk actions with no sign of life (a chunk done, or a start) for too long."""
    since = (now or timezone.now()) - stall_limit()
    return BulkAction.objects.filter(status__in=UNFINISHED).filter(
        Q(heartbeat_at__lt=since) | Q(heartbeat_at__isnull=True, created_at__lt=since)
    )


def is_stalled(bulk: BulkAction, *, now: datetime | None = None) -> bool:
    """The same test as `stalled_bulk_actions`, for a bulk action already read."""
    if bulk.status not in UNFINISHED:
        return False
    last_sign = bulk.heartbeat_at or bulk.created_at
    return last_sign < (now or timezone.now()) - stall_limit()


def _queued_runs(task, bulk_action_id: int, status: str) -> QuerySet:
    return DBTaskResult.objects.filter(
        task_path=task.module_path, status=status, args_kwargs__args__0=bulk_action_id
    )


def resume_stalled_bulk_actions(*, now: datetime | None = None) -> list[int]:
    """Queue again every bulk action whose run stopped, as when its worker died; their ids.

    Always safe: a run resumes after the last chunk it committed, and the lock on the
    BulkAction row keeps a slow run and its replacement from doing any chunk twice. A
    run already waiting in the queue is not queued a second time, and two recoveries at
    once queue a stopped run once.
    """
    now = now or timezone.now()
    stalled = stalled_bulk_actions(now=now).order_by("pk").values_list("pk", flat=True)
    return [pk for pk in stalled if _resume(pk, task=run_bulk_action_task, now=now)]


def _resume(bulk_action_id: int, *, task, now: datetime) -> bool:
    # The database queue takes the run in the same transaction as the note on its page,
    # so a second recovery waiting for the lock finds it waiting. A queue that runs tasks
    # at once must wait until the lock is released.
    in_transaction = isinstance(task.get_backend(), DatabaseBackend)
    with transaction.atomic():
        # A run in the middle of a chunk holds this row's lock: alive, however slow.
        bulk = (
            stalled_bulk_actions(now=now)
            .select_for_update(skip_locked=True)
            .filter(pk=bulk_action_id)
            .first()
        )
        if bulk is None:
            return False
        if in_transaction and _queued_runs(task, bulk.pk, TaskResultStatus.READY).exists():
            return False
        if bulk.status == BulkAction.Status.RUNNING:
            _record_stop(bulk, task=task, now=now)
        if in_transaction:
            task.enqueue(bulk.pk)
    if not in_transaction:
        task.enqueue(bulk.pk)
    return True


def _record_stop(bulk: BulkAction, *, task, now: datetime) -> None:
    """Mark the dead run's task failed, and write down for the page where it stopped."""
    stop = {"processed": bulk.processed, "total": bulk.total, "resumed_at": now.isoformat()}
    error = WorkerStopped(
        f"The worker stopped at {bulk.processed} of {bulk.total} contacts; "
        f"bulk action #{bulk.pk} was queued again at {now.isoformat()}."
    )
    for dead in _queued_runs(task, bulk.pk, TaskResultStatus.RUNNING).select_for_update():
        dead.set_failed(error)
    bulk.outcome = {**bulk.outcome, "stops": [*bulk.outcome.get("stops", []), stop]}
    bulk.save(update_fields=["outcome"])


@task()
def resume_stalled_bulk_actions_task() -> str:
    """The scheduler's recovery of stopped runs."""
    resumed = resume_stalled_bulk_actions()
    return ngettext(
        "%d stopped bulk action queued again", "%d stopped bulk actions queued again", len(resumed)
    ) % len(resumed)
