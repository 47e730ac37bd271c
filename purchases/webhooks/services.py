"""Endpoints made and removed, events turned into deliveries, deliveries sent and retried."""

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from kajaccess.actors import Actor
from kajaccess.models import Site
from kajaccess.outcomes import Outcome
from purchases.models import (
    AccessEvent,
    BulkAction,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from purchases.webhooks import events, signing, transport

URL_MAX_LENGTH = 500
# The wait after each failed attempt: eight attempts over about a day, then the endpoint
# is switched off and its owner told.
BACKOFF = [
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=8),
    timedelta(hours=8),
]
MAX_ATTEMPTS = len(BACKOFF) + 1
# How far before its last sweep the next one looks again for changes not yet delivered:
# a transaction that wrote its audit rows (stamped when written) before that sweep may
# have committed after it. Far longer than any such transaction stays open.
LOOKBACK = timedelta(minutes=30)
# A delivery being sent is not due again for this long, so two workers never send it at
# once; a worker that dies mid-send leaves it to be sent again after this.
LEASE = timedelta(minutes=2)
SEND_BATCH = 50


@dataclass(frozen=True)
class NewEndpoint:
    """An endpoint just made, and its signing secret, shown this once."""

    endpoint: WebhookEndpoint
    secret: str


def _check(*, url: str, event_types: list[str]) -> tuple[str, list[str]]:
    url = (url or "").strip()
    # A local receiver in development has no certificate: http is for it alone.
    schemes = ["https", "http"] if settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES else ["https"]
    if not url:
        raise ValidationError("Give the https URL that should receive the events.")
    if len(url) > URL_MAX_LENGTH:
        raise ValidationError(f"The URL can be at most {URL_MAX_LENGTH} characters.")
    try:
        URLValidator(schemes=schemes)(url)
    except ValidationError:
        raise ValidationError(
            "Give a whole https URL, such as https://example.com/hooks."
        ) from None
    unknown = set(event_types) - set(events.EVENT_TYPES)
    if unknown or not event_types:
        raise ValidationError("Choose at least one of the events listed.")
    return url, [name for name in events.EVENT_TYPES if name in event_types]


def webhook_endpoint_create(
    *, site: Site, url: str, event_types: list[str], actor: Actor
) -> NewEndpoint:
    """An endpoint of `site` sent these events from now on; its secret is returned once."""
    url, event_types = _check(url=url, event_types=event_types)
    secret = signing.new_secret()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            site=site, url=url, event_types=event_types, secret=secret, created_by=actor.user
        )
    return NewEndpoint(endpoint, secret)


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint, actor: Actor) -> Outcome:
    """The endpoint and its delivery log removed: nothing more is sent to it."""
    with transaction.atomic():
        url = endpoint.url
        WebhookEndpoint.objects.filter(pk=endpoint.pk).delete()
        _site_told_of_switched_off(endpoint.site_id)
    return Outcome(endpoint, True, f"{url} is removed: it is sent nothing more.")


def webhook_endpoint_enable(*, endpoint: WebhookEndpoint, actor: Actor) -> Outcome:
    """A switched-off endpoint sent new events again; a failed delivery waits for Resend."""
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        if locked.enabled:
            return Outcome(locked, False, f"{locked.url} is already on.")
        locked.disabled_at = None
        locked.disabled_reason = ""
        # What changed while it was off is not sent: it starts again from now.
        locked.swept_until = timezone.now()
        locked.save(update_fields=["disabled_at", "disabled_reason", "swept_until"])
        _site_told_of_switched_off(locked.site_id)
    return Outcome(locked, True, f"{locked.url} is on again.")


def webhook_delivery_resend(*, delivery: WebhookDelivery, actor: Actor) -> Outcome:
    """The delivery due again now, with the same event id, whatever became of it."""
    with transaction.atomic():
        locked = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        locked.status = WebhookDelivery.Status.PENDING
        locked.next_attempt_at = timezone.now()
        locked.save(update_fields=["status", "next_attempt_at"])
    return Outcome(locked, True, f"The {locked.type} event {locked.event_id} is being sent again.")


def deliveries_create(*, now: datetime | None = None) -> int:
    """A delivery for every committed event an enabled endpoint asks for and has not got.

    Only what has committed is visible here, so a rolled-back change is never sent; the
    unique (endpoint, event id) makes a second run, or two at once, add nothing twice.
    A bulk action's thousands of changes are one delivery each, not one batch: a receiver
    then handles every change the same way whatever made it, and the deliveries are
    written here, set-based, long after the bulk action's chunks have committed.
    """
    now = now or timezone.now()
    created = 0
    for endpoint in WebhookEndpoint.objects.filter(disabled_at__isnull=True):
        since = endpoint.created_at
        if endpoint.swept_until is not None:
            since = max(since, endpoint.swept_until - LOOKBACK)
        delivered = WebhookDelivery.objects.filter(endpoint=endpoint)
        rows = (
            AccessEvent.objects.filter(
                events.access_events_of_types(endpoint.event_types),
                site_id=endpoint.site_id,
                at__gte=since,
            )
            .exclude(Exists(delivered.filter(access_event=OuterRef("pk"))))
            .annotate(type=events.access_event_type())
            .order_by("pk")
            .values_list("pk", "type")
        )
        deliveries = [
            WebhookDelivery(
                endpoint=endpoint,
                event_id=events.access_event_id(pk),
                type=kind,
                access_event_id=pk,
                next_attempt_at=now,
            )
            for pk, kind in rows.iterator(chunk_size=2000)
        ]
        if events.BULK_ACTION_FINISHED in endpoint.event_types:
            finished = (
                BulkAction.objects.filter(
                    site_id=endpoint.site_id,
                    status=BulkAction.Status.DONE,
                    finished_at__gte=since,
                )
                .exclude(Exists(delivered.filter(bulk_action=OuterRef("pk"))))
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            deliveries += [
                WebhookDelivery(
                    endpoint=endpoint,
                    event_id=events.bulk_action_event_id(pk),
                    type=events.BULK_ACTION_FINISHED,
                    bulk_action_id=pk,
                    next_attempt_at=now,
                )
                for pk in finished
            ]
        WebhookDelivery.objects.bulk_create(deliveries, batch_size=1000, ignore_conflicts=True)
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(swept_until=now)
        created += len(deliveries)
    return created


def _claim(now: datetime) -> list[WebhookDelivery]:
    """Some due deliveries, leased to this worker in a short transaction of their own."""
    with transaction.atomic():
        due = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                status=WebhookDelivery.Status.PENDING,
                next_attempt_at__lte=now,
                endpoint__disabled_at__isnull=True,
            )
            .order_by("next_attempt_at", "pk")[:SEND_BATCH]
        )
        WebhookDelivery.objects.filter(pk__in=[d.pk for d in due]).update(
            next_attempt_at=now + LEASE, attempts=F("attempts") + 1
        )
    return list(
        WebhookDelivery.objects.filter(pk__in=[d.pk for d in due])
        .select_related(
            "endpoint",
            "access_event__site",
            "access_event__contact",
            "access_event__actor",
            "access_event__api_key",
            "bulk_action__site",
        )
        .order_by("pk")
    )


def delivery_body(delivery: WebhookDelivery) -> bytes:
    """The JSON POSTed: the event's id, type, time and what it is about."""
    if delivery.access_event is not None:
        created, data = delivery.access_event.at, events.access_event_data(delivery.access_event)
    else:
        created, data = (
            delivery.bulk_action.finished_at,
            events.bulk_action_data(delivery.bulk_action),
        )
    payload = {
        "id": delivery.event_id,
        "type": delivery.type,
        "created": created.isoformat(),
        "data": data,
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def _send(delivery: WebhookDelivery) -> transport.Answer:
    body = delivery_body(delivery)
    header = signing.signature(
        secret=delivery.endpoint.secret, body=body, timestamp=int(timezone.now().timestamp())
    )
    return transport.post(
        delivery.endpoint.url,
        body=body,
        headers={
            "Content-Type": "application/json",
            "User-Agent": "KajAccess-Webhooks/1",
            signing.SIGNATURE_HEADER: header,
        },
    )


def _record(delivery: WebhookDelivery, answer: transport.Answer, *, now: datetime) -> None:
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=delivery.attempts,
            at=now,
            response_status=answer.status,
            duration_ms=answer.duration_ms,
            error=answer.error,
        )
        if answer.succeeded:
            delivery.status = WebhookDelivery.Status.DELIVERED
            delivery.delivered_at = now
            delivery.next_attempt_at = None
        elif delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.next_attempt_at = None
            _disable(delivery, now=now)
        else:
            delivery.next_attempt_at = now + BACKOFF[delivery.attempts - 1]
        delivery.save(update_fields=["status", "delivered_at", "next_attempt_at"])


def _disable(delivery: WebhookDelivery, *, now: datetime) -> None:
    reason = (
        f"The {delivery.type} event {delivery.event_id} could not be delivered after "
        f"{delivery.attempts} attempts over about a day."
    )
    endpoint = WebhookEndpoint.objects.filter(pk=delivery.endpoint_id, disabled_at__isnull=True)
    if endpoint.update(disabled_at=now, disabled_reason=reason):
        Site.objects.filter(
            pk=delivery.endpoint.site_id, webhooks_switched_off_at__isnull=True
        ).update(webhooks_switched_off_at=now)


def _site_told_of_switched_off(site_id: int) -> None:
    """The dashboard's notice stays while some endpoint of the site is switched off."""
    if not WebhookEndpoint.objects.filter(site_id=site_id, disabled_at__isnull=False).exists():
        Site.objects.filter(pk=site_id).update(webhooks_switched_off_at=None)


def deliveries_send(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Send what is due, each POST outside any transaction; returns how many were tried."""
    tried = 0
    while tried < limit:
        started = now or timezone.now()
        batch = _claim(started)
        if not batch:
            break
        for delivery in batch:
            answer = _send(delivery)
            _record(delivery, answer, now=now or timezone.now())
        tried += len(batch)
    return tried
