"""Starting a bulk action and working through it chunk by chunk.

A run (`run_bulk_action`) works through the selection in chunks of CHUNK_SIZE contacts
in primary-key order. Each chunk and the BulkAction's progress commit in one
transaction, so a worker that dies loses nothing and a rerun resumes after the last
committed chunk, changing nothing twice. Each chunk also moves the run's heartbeat
(`heartbeat_at`), which contacts.bulk.recovery watches.
"""

from collections import Counter

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from contacts.bulk.actions import REGISTRY, UNDO_OF, action_for
from contacts.bulk.selection import NOT_IN_SITE, outside_site, selected_contacts
from kajaccess.models import Site
from purchases.access import services as access_services
from purchases.models import BulkAction

CHUNK_SIZE = 500


ATTEMPTS_PER_CHUNK = 3


def start_bulk_action(
    *,
    site: Site,
    user,
    action: str,
    params: dict,
    selection: dict,
    reason: str = "",
    undo_of: BulkAction | None = None,
) -> BulkAction:
    """Record a bulk action and queue it for the worker; the selection is counted now."""
    from contacts.bulk.tasks import run_bulk_action_task

    if action not in REGISTRY:
        raise ValidationError(f"Unknown bulk action “{action}”.")
    outside = outside_site(site, selection)
    with transaction.atomic():
        bulk = BulkAction.objects.create(
            site=site,
            created_by=user,
            action=action,
            params=params,
            selection=selection,
            reason=access_services._check_reason(reason),
            undo_of=undo_of,
            total=selected_contacts(site, selection).count() + outside,
            skipped=outside,
            processed=outside,
            outcome={"skipped": {NOT_IN_SITE: outside}} if outside else {},
        )
        transaction.on_commit(lambda: run_bulk_action_task.enqueue(bulk.pk))
    return bulk


def start_undo(*, site: Site, user, original: BulkAction, reason: str = "") -> BulkAction:
    """Queue the undo of a finished bulk grant or revoke, as a bulk action of its own.

    The original is locked while this checks it, so it is undone at most once.
    """
    with transaction.atomic():
        original = BulkAction.objects.select_for_update().get(site=site, pk=original.pk)
        action = action_for(original)
        if action.undone_by is not None:
            raise ValidationError(
                f"Bulk action #{original.pk} was already undone by #{action.undone_by.pk}."
            )
        if not action.can_undo:
            raise ValidationError(f"Bulk action #{original.pk} cannot be undone.")
        return start_bulk_action(
            site=site,
            user=user,
            action=UNDO_OF[original.action].name,
            params={"undo_of": original.pk},
            selection={"undo_of": original.pk},
            reason=reason,
            undo_of=original,
        )


def _merge(outcome: dict, key: str, reasons: Counter) -> dict:
    merged = Counter(outcome.get(key, {}))
    merged.update(reasons)
    return {**outcome, key: dict(merged)}


def run_bulk_action(bulk_action_id: int) -> BulkAction:
    """Work through a bulk action chunk by chunk; safe to run again after a crash.

    Each chunk and the progress it makes commit together, under a lock on the
    BulkAction row, so two workers on one job, or a rerun, never change a contact twice.
    """
    bulk = BulkAction.objects.get(pk=bulk_action_id)
    if bulk.status == BulkAction.Status.DONE:
        return bulk
    now = timezone.now()
    BulkAction.objects.filter(pk=bulk.pk).exclude(status=BulkAction.Status.DONE).update(
        status=BulkAction.Status.RUNNING, started_at=bulk.started_at or now, heartbeat_at=now
    )
    contacts = selected_contacts(bulk.site, bulk.selection).order_by("pk")
    failures = 0
    while True:
        with transaction.atomic():
            bulk = BulkAction.objects.select_for_update().select_related("site").get(pk=bulk.pk)
            if bulk.status == BulkAction.Status.DONE:
                return bulk
            ids = list(
                contacts.filter(pk__gt=bulk.cursor).values_list("pk", flat=True)[:CHUNK_SIZE]
            )
            if not ids:
                bulk.status = BulkAction.Status.DONE
                bulk.finished_at = bulk.heartbeat_at = timezone.now()
                bulk.save(update_fields=["status", "finished_at", "heartbeat_at"])
                return bulk
            action = action_for(bulk)
            try:
                with transaction.atomic():
                    changed, reasons = action.execute(ids)
            except Exception as error:  # noqa: BLE001 - any failure rolls the chunk back
                failures += 1
                if failures < ATTEMPTS_PER_CHUNK:
                    continue
                bulk.failed += len(ids)
                bulk.outcome = _merge(bulk.outcome, "failed", Counter({_describe(error): len(ids)}))
                changed, reasons = 0, Counter()
            failures = 0
            bulk.processed += len(ids)
            bulk.changed += changed
            bulk.skipped += sum(reasons.values())
            bulk.cursor = ids[-1]
            bulk.heartbeat_at = timezone.now()
            if reasons:
                bulk.outcome = _merge(bulk.outcome, "skipped", reasons)
            bulk.save(
                update_fields=[
                    "processed",
                    "changed",
                    "skipped",
                    "failed",
                    "cursor",
                    "outcome",
                    "heartbeat_at",
                ]
            )


def _describe(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return f"{type(error).__name__}: {error}"[:200]
