"""The services that write bulk actions: starting one with the contacts it was confirmed
for, and working through those contacts chunk by chunk; safe to run again after a crash."""

from collections import Counter

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_tasks import task

from contacts.bulk.actions import NOT_IN_SITE, BulkActionType, Chunk, action_for, registry
from contacts.bulk.selection import outside_site, selected_contacts
from contacts.bulk.stored import store_contacts
from contacts.models import Contact
from kajaccess.models import Site
from purchases.access import services as access_services
from purchases.models import BulkAction, BulkActionContact

CHUNK_SIZE = 500


ATTEMPTS_PER_CHUNK = 3


def _store_contacts(bulk: BulkAction, contacts: QuerySet) -> int:
    """Store the contacts a bulk action acts on, each once and only the site's; how many.

    Set-based, so that confirming 100,000 contacts never brings their ids into Python.
    """
    chosen = Contact.objects.filter(site_id=bulk.site_id, pk__in=contacts.order_by().values("pk"))
    return store_contacts(BulkActionContact, "bulk_action", bulk.pk, chosen)


def start_bulk_action(
    *,
    site: Site,
    user,
    action: str,
    params: dict,
    selection: dict,
    reason: str = "",
    undo_of: BulkAction | None = None,
    expected_total: int | None = None,
    api_key=None,
) -> BulkAction:
    """Record a bulk action with the contacts it acts on, resolved now, and queue it.

    The selection's contacts are read once, here, and stored with the bulk action: its
    run acts on exactly those, whatever happens to the search, the filters or the
    contacts afterwards. Given `expected_total`, the number the creator confirmed, a
    selection that no longer has that many contacts is refused and nothing is recorded.
    Filters that do not validate are refused too (ValidationError), never left out.
    Started with an API key (`api_key`), its changes are signed with the key's name.
    """
    registry.get(action)
    reason = access_services.check_reason(reason)
    contacts = selected_contacts(site, selection, user=user)
    outside = outside_site(site, selection, user=user)
    with transaction.atomic():
        bulk = BulkAction.objects.create(
            site=site,
            created_by=user,
            api_key=api_key,
            action=action,
            params=params,
            selection=selection,
            reason=reason,
            undo_of=undo_of,
            total=outside if expected_total is None else expected_total,
            skipped=outside,
            processed=outside,
            outcome={"skipped": {NOT_IN_SITE: outside}} if outside else {},
        )
        total = _store_contacts(bulk, contacts) + outside
        if total != bulk.total:
            if expected_total is not None:
                raise ValidationError(
                    f"The selection changed as you confirmed it: it has {total} contacts "
                    f"now, not {expected_total}. Check what will change, then confirm again."
                )
            bulk.total = total
            bulk.save(update_fields=["total"])
        transaction.on_commit(lambda: run_bulk_action_task.enqueue(bulk.pk))
    return bulk


def start_undo(
    *,
    site: Site,
    user,
    original: BulkAction,
    reason: str = "",
    expected_total: int | None = None,
    api_key=None,
) -> BulkAction:
    """Queue the undo of a finished bulk action, as a bulk action of its own.

    Its contacts, those the original changed, are stored now. The original is locked
    while this checks it, so it is undone at most once.
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
            action=action.undo_class.name,
            params={"undo_of": original.pk},
            selection={"undo_of": original.pk},
            reason=reason,
            undo_of=original,
            expected_total=expected_total,
            api_key=api_key,
        )


def _merge(outcome: dict, key: str, reasons: Counter) -> dict:
    merged = Counter(outcome.get(key, {}))
    merged.update(reasons)
    return {**outcome, key: dict(merged)}


def _mark_running(bulk: BulkAction) -> None:
    now = timezone.now()
    BulkAction.objects.filter(pk=bulk.pk).exclude(status=BulkAction.Status.DONE).update(
        status=BulkAction.Status.RUNNING, started_at=bulk.started_at or now, heartbeat_at=now
    )


def _finish(bulk: BulkAction) -> BulkAction:
    bulk.status = BulkAction.Status.DONE
    bulk.finished_at = bulk.heartbeat_at = timezone.now()
    bulk.save(update_fields=["status", "finished_at", "heartbeat_at"])
    return bulk


def _record_chunk(
    bulk: BulkAction,
    chunk: Chunk,
    *,
    changed: int,
    skipped: Counter,
    failed: Counter,
    counted: Counter,
) -> None:
    """The progress of one chunk, saved in the chunk's own transaction."""
    bulk.processed += chunk.size
    bulk.changed += changed
    bulk.skipped += skipped.total()
    bulk.failed += failed.total()
    bulk.cursor = chunk.last
    bulk.heartbeat_at = timezone.now()
    if skipped:
        bulk.outcome = _merge(bulk.outcome, "skipped", skipped)
    if failed:
        bulk.outcome = _merge(bulk.outcome, "failed", failed)
    if counted:
        bulk.outcome = _merge(bulk.outcome, "counted", counted)
    bulk.save(
        update_fields=["processed", "changed", "skipped", "failed", "cursor", "outcome"]
        + ["heartbeat_at"]
    )


def _execute(action: BulkActionType, ids: list[int]) -> tuple[int, Counter]:
    if not ids:
        return 0, Counter()
    with transaction.atomic():
        return action.execute(ids)


def run_bulk_action(bulk_action_id: int) -> BulkAction:
    """Work through a bulk action's stored contacts chunk by chunk; safe to run again.

    Each chunk acts on the next stored contacts that are still the site's, and its
    progress commits with it under a lock on the BulkAction row, so two workers on one
    job, or a rerun after a crash, never change a contact twice.
    """
    bulk = BulkAction.objects.get(pk=bulk_action_id)
    if bulk.status == BulkAction.Status.DONE:
        return bulk
    _mark_running(bulk)
    failures = 0
    while True:
        with transaction.atomic():
            bulk = (
                BulkAction.objects.select_for_update(of=("self",))
                .select_related("site")
                .get(pk=bulk.pk)
            )
            if bulk.status == BulkAction.Status.DONE:
                return bulk
            action = action_for(bulk)
            chunk = action.next_chunk(bulk.cursor, CHUNK_SIZE)
            if chunk is None:
                return _finish(bulk)
            ids = chunk.ids
            failed = Counter()
            try:
                changed, reasons = _execute(action, ids)
            except ValidationError as error:  # the same again on a retry: no use trying
                changed, reasons, failed = 0, Counter(), Counter({_describe(error): len(ids)})
            except Exception as error:  # noqa: BLE001 - any failure rolls the chunk back
                failures += 1
                if failures < ATTEMPTS_PER_CHUNK:
                    continue
                changed, reasons, failed = 0, Counter(), Counter({_describe(error): len(ids)})
            failures = 0
            _record_chunk(
                bulk,
                chunk,
                changed=changed,
                skipped=chunk.skipped + reasons,
                failed=failed,
                counted=Counter() if failed else action.counted,
            )


def _describe(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return f"{type(error).__name__}: {error}"[:200]


@task()
def run_bulk_action_task(bulk_action_id: int) -> dict:
    """The worker's run of a bulk action."""
    bulk = run_bulk_action(bulk_action_id)
    return {"status": bulk.status, "changed": bulk.changed, "skipped": bulk.skipped}
