"""The audit rows of access changes, built in one place."""

import json
from datetime import datetime

from django.db import connection
from django.dispatch import receiver
from django.utils import timezone

from contacts.models import Contact
from contacts.signals import contacts_changed
from kajaccess.actors import Actor
from purchases.models import (
    AccessEvent,
    BulkAction,
    Grant,
)


def _event(
    kind: str,
    *,
    site_id: int,
    contact_id: int,
    actor: Actor,
    grant_id: int | None = None,
    product_id: int | None = None,
    reason: str = "",
    bulk_action: BulkAction | None = None,
    at: datetime,
    details: dict | None = None,
) -> AccessEvent:
    return AccessEvent(
        site_id=site_id,
        contact_id=contact_id,
        grant_id=grant_id,
        product_id=product_id,
        kind=kind,
        actor_id=actor.user_id,
        actor_kind=actor.kind,
        actor_role=actor.role,
        api_key_id=actor.api_key_id,
        reason=reason,
        bulk_action=bulk_action,
        at=at,
        details=details or {},
    )


def record_event(kind: str, *, contact: Contact, actor: Actor, **fields) -> AccessEvent:
    """Write one audit row; for services of other modules that change billing state."""
    event = _event(
        kind,
        site_id=contact.site_id,
        contact_id=contact.pk,
        actor=actor,
        at=fields.pop("at", None) or timezone.now(),
        **fields,
    )
    event.save()
    return event


def _insert_grant_events(
    grant_ids: list[int],
    kind: str,
    *,
    actor: Actor,
    reason: str,
    bulk_action: BulkAction | None,
    at: datetime,
    details: dict,
) -> None:
    """One audit row for each of these grants, written by a single INSERT ... SELECT.

    A bulk revoke of thousands of grants then costs one statement for its audit trail
    instead of building thousands of model instances; the rows are the same as
    `record_event` writes.
    """
    if not grant_ids:
        return
    event, grant = AccessEvent._meta, Grant._meta
    qn = connection.ops.quote_name
    columns = ["site", "contact", "grant", "kind", "actor", "actor_kind", "actor_role", "api_key"]
    columns += ["reason", "bulk_action", "at", "details"]
    target = ", ".join(qn(event.get_field(name).column) for name in columns)
    values = [
        kind,
        actor.user_id,
        actor.kind,
        actor.role,
        actor.api_key_id,
        reason,
        bulk_action.pk if bulk_action else None,
        event.get_field("at").get_db_prep_save(at, connection),
        event.get_field("details").get_db_prep_save(details, connection),
    ]
    source = ", ".join(qn(grant.get_field(name).column) for name in ("site", "contact", "id"))
    placeholders = ", ".join(["%s"] * len(grant_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {qn(event.db_table)} ({target}) "
            f"SELECT {source}, {', '.join(['%s'] * len(values))} FROM {qn(grant.db_table)} "
            f"WHERE {qn(grant.pk.column)} IN ({placeholders}) ORDER BY {qn(grant.pk.column)}",
            [*values, *grant_ids],
        )


def _insert_grant_events_by_details(
    details_by_grant: dict[int, dict],
    kind: str,
    *,
    actor: Actor,
    reason: str,
    bulk_action: BulkAction | None,
    at: datetime,
) -> None:
    """One audit row for each of these grants, each with its own details.

    Grants with the same details share one INSERT ... SELECT: a bulk Undo's chunk, whose
    grants were all revoked the same way, writes its audit trail in one statement.
    """
    groups: dict[str, tuple[dict, list[int]]] = {}
    for grant_id, details in details_by_grant.items():
        key = json.dumps(details, sort_keys=True)
        groups.setdefault(key, (details, []))[1].append(grant_id)
    for details, grant_ids in groups.values():
        _insert_grant_events(
            grant_ids,
            kind,
            actor=actor,
            reason=reason,
            bulk_action=bulk_action,
            at=at,
            details=details,
        )


@receiver(contacts_changed, dispatch_uid="audit_contacts_changed")
def record_contact_changes(*, site_id, actor, kind, changes, bulk_action=None, **kwargs) -> None:
    """Contacts added, or their names or emails changed: their audit rows, in one INSERT."""
    event_kind = (
        AccessEvent.Kind.CONTACT_ADDED if kind == "added" else AccessEvent.Kind.CONTACT_EDITED
    )
    at = timezone.now()
    AccessEvent.objects.bulk_create(
        _event(
            event_kind,
            site_id=site_id,
            contact_id=contact_id,
            actor=actor,
            bulk_action=bulk_action,
            at=at,
            details=details,
        )
        for contact_id, details in changes.items()
    )
