"""Bulk actions whose worker stopped: found by their heartbeat and queued again."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from purchases.models import BulkAction

UNFINISHED = [BulkAction.Status.PENDING, BulkAction.Status.RUNNING]


def stall_limit() -> timedelta:
    return timedelta(minutes=settings.BULK_ACTION_STALL_MINUTES)


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


def _waiting_in_queue(task) -> set[int]:
    """The bulk actions whose run already waits in the database queue for a worker."""
    if not isinstance(task.get_backend(), DatabaseBackend):
        return set()
    waiting = DBTaskResult.objects.filter(
        task_path=task.module_path, status=TaskResultStatus.READY
    ).values_list("args_kwargs", flat=True)
    return {args_kwargs["args"][0] for args_kwargs in waiting if args_kwargs.get("args")}


def resume_stalled_bulk_actions(*, now: datetime | None = None) -> list[int]:
    """Queue again every bulk action whose run stopped, as when its worker died; their ids.

    Always safe: a run resumes after the last chunk it committed, and the lock on the
    BulkAction row keeps a slow run and its replacement from doing any chunk twice. A
    run already waiting in the queue is not queued a second time.
    """
    from contacts.bulk.tasks import run_bulk_action_task

    stalled = list(stalled_bulk_actions(now=now).order_by("pk").values_list("pk", flat=True))
    if not stalled:
        return []
    waiting = _waiting_in_queue(run_bulk_action_task)
    resumed = [pk for pk in stalled if pk not in waiting]
    for pk in resumed:
        run_bulk_action_task.enqueue(pk)
    return resumed
