"""The event types an endpoint can ask for, which audit rows each one is, and its body."""

from functools import reduce
from operator import or_

from django.db.models import Case, CharField, Q, Value, When

from kajaccess.actors import ActorKind
from purchases.models import AccessEvent, BulkAction

Kind = AccessEvent.Kind
REVOKES = [Kind.REVOKED, Kind.PRODUCT_REVOKED]
EXPIRED = Q(actor_kind=ActorKind.EXPIRY)

# Each type and the audit rows it is sent for: a revoke by the expiry sweep is an expiry.
ACCESS_EVENT_TYPES: dict[str, Q] = {
    "access.granted": Q(kind=Kind.GRANTED),
    "access.revoked": Q(kind__in=REVOKES) & ~EXPIRED,
    "access.restored": Q(kind__in=[Kind.RESTORED, Kind.PRODUCT_RESTORED]),
    "access.expired": Q(kind__in=REVOKES) & EXPIRED,
    "access.dates_changed": Q(kind=Kind.ACCESS_DATES_CHANGED),
    "subscription.canceled": Q(kind=Kind.SUBSCRIPTION_CANCELED),
    "subscription.paused": Q(kind=Kind.SUBSCRIPTION_PAUSED),
    "subscription.resumed": Q(kind=Kind.SUBSCRIPTION_RESUMED),
    "contact.created": Q(kind=Kind.CONTACT_ADDED),
}
BULK_ACTION_FINISHED = "bulk_action.finished"
EVENT_TYPES = [*ACCESS_EVENT_TYPES, BULK_ACTION_FINISHED]


def access_events_of_types(types: list[str]) -> Q:
    """The audit rows sent for any of these types (none when no access type is among them)."""
    conditions = [ACCESS_EVENT_TYPES[name] for name in types if name in ACCESS_EVENT_TYPES]
    return reduce(or_, conditions, Q(pk__in=[]))


def access_event_type() -> Case:
    """The webhook type of each audit row, in SQL, for the rows some type is sent for."""
    return Case(
        *(When(condition, then=Value(name)) for name, condition in ACCESS_EVENT_TYPES.items()),
        output_field=CharField(),
    )


def access_event_id(event_pk: int) -> str:
    return f"evt_access_{event_pk}"


def bulk_action_event_id(bulk_pk: int) -> str:
    return f"evt_bulk_{bulk_pk}"


def access_event_data(event: AccessEvent) -> dict:
    """What an endpoint is told of one change: who, what, which grant, when and why."""
    return {
        "site": event.site.slug,
        "contact": {"id": str(event.contact_id), "email": event.contact.email},
        "grant": str(event.grant_id) if event.grant_id else None,
        "product": str(event.product_id) if event.product_id else None,
        "kind": event.kind,
        "actor": {
            "kind": event.actor_kind,
            "email": event.actor.email if event.actor else None,
            "api_key": event.api_key.name if event.api_key else None,
        },
        "reason": event.reason,
        "bulk_action": str(event.bulk_action_id) if event.bulk_action_id else None,
        "at": event.at.isoformat(),
        "details": event.details,
    }


def bulk_action_data(bulk: BulkAction) -> dict:
    return {
        "site": bulk.site.slug,
        "bulk_action": str(bulk.pk),
        "action": bulk.action,
        "total": bulk.total,
        "changed": bulk.changed,
        "skipped": bulk.skipped,
        "failed": bulk.failed,
        "finished_at": bulk.finished_at.isoformat() if bulk.finished_at else None,
    }
