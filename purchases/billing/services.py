"""The billing services: cancel, pause and resume subscriptions and payment plans, the
billing run that charges them, and the access sweep that ends what has come due.

Billing and access are kept apart. Revoking access never touches a subscription, so a
revoked customer keeps being charged until someone cancels; cancelling or pausing never
needs a revoke. The one place where billing reaches access is the end of a subscription:
its Grant is revoked with revoked_via `cancellation`, and the Purchases tab reads `Revoked`.

Each service takes keyword-only arguments and an explicit Actor, runs in one
transaction, locks the subscription it changes, writes one AccessEvent per real change
in that transaction, and is idempotent: a second identical call changes nothing and says
so. Signals for automations are sent only after the transaction commits.
"""

import calendar
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import dateformat, timezone

from kajaccess.actors import Actor
from kajaccess.outcomes import Outcome
from products.models import Offer
from purchases.access.events import _event
from purchases.access.facts import refresh_access_facts
from purchases.access.services import revoke_grants
from purchases.models import AccessEvent, Subscription
from purchases.signals import subscription_canceled

Status = Subscription.Status


# A declined card is tried again a day later, not at every run of the billing task.
RETRY_AFTER = timedelta(days=1)


SWEEP_BATCH = 200


class CancelWhen(models.TextChoices):
    PERIOD_END = "period_end", "End of the current billing period"
    DATE = "date", "On a custom date"
    NOW = "now", "Cancel now"


def start_of(day: date) -> datetime:
    """Midnight at the start of `day` in the site's time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


def day_label(moment: datetime) -> str:
    return dateformat.format(timezone.localtime(moment), "M j, Y")


def next_billing_date(due_at: datetime, interval: str) -> datetime:
    """The same day one month (or year) later; the 31st becomes the month's last day."""
    months = 12 if interval == Offer.Interval.YEAR else 1
    index = due_at.month - 1 + months
    year, month = due_at.year + index // 12, index % 12 + 1
    day = min(due_at.day, calendar.monthrange(year, month)[1])
    return due_at.replace(year=year, month=month, day=day)


def _locked(subscription: Subscription) -> Subscription:
    return (
        Subscription.objects.select_for_update(of=("self",))
        .select_related("grant__contact", "grant__offer")
        .get(pk=subscription.pk)
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _billing_event(
    kind: str, subscription: Subscription, actor: Actor, now: datetime, **details
) -> AccessEvent:
    """The audit row of a billing change, unsaved, so that a run can insert many at once."""
    grant = subscription.grant
    return _event(
        kind,
        site_id=grant.site_id,
        contact_id=grant.contact_id,
        actor=actor,
        grant_id=grant.pk,
        at=now,
        details={"offer": grant.offer.title, **details},
    )


def _record(kind: str, subscription: Subscription, actor: Actor, now: datetime, **details):
    _billing_event(kind, subscription, actor, now, **details).save()


def _title(subscription: Subscription) -> str:
    return f"“{subscription.grant.offer.title}”"


def _future_day(day: date | None, now: datetime, what: str) -> date:
    if day is None:
        raise ValidationError(f"Pick the date {what}.")
    if day <= timezone.localdate(now):
        raise ValidationError(f"Pick a date after today {what}.")
    return day


def _refuse_if_over(subscription: Subscription, doing: str) -> None:
    if subscription.status == Status.COMPLETED:
        raise ValidationError(
            f"{_title(subscription)} is paid in full: there are no payments left {doing}."
        )
    if subscription.status == Status.CANCELED:
        raise ValidationError(f"Payments for {_title(subscription)} were already canceled.")


def cancel_subscription(
    *,
    subscription: Subscription,
    actor: Actor,
    when: str = CancelWhen.PERIOD_END,
    on: date | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Stop a subscription's or payment plan's payments.

    `period_end` and `date` schedule the end (a pending cancellation: it keeps billing
    and access until then, and `process_access` ends it); `now` ends payments and access
    at once. A schedule that is already over ends it at once too.
    """
    now = now or timezone.now()
    if when not in CancelWhen.values:
        raise ValidationError("Choose when the payments should stop.")
    if when == CancelWhen.DATE:
        on = _future_day(on, now, "on which the payments should stop")
    with transaction.atomic():
        sub = _locked(subscription)
        if sub.status == Status.CANCELED:
            return Outcome(sub, False, f"Payments for {_title(sub)} were already canceled.")
        _refuse_if_over(sub, "to cancel")
        if when == CancelWhen.NOW:
            cancel_at = now
        elif when == CancelWhen.PERIOD_END:
            cancel_at = sub.next_billing_at or now
        else:
            cancel_at = start_of(on)
        if cancel_at <= now:
            return _end(sub, actor, now)
        if sub.cancel_at == cancel_at:
            return Outcome(
                sub,
                False,
                f"Payments for {_title(sub)} were already set to stop on {day_label(cancel_at)}.",
            )
        old = sub.cancel_at
        sub.cancel_at = cancel_at
        sub.save(update_fields=["cancel_at"])
        _record(
            AccessEvent.Kind.CANCELLATION_SCHEDULED,
            sub,
            actor,
            now,
            when=when,
            cancel_at=[_iso(old), _iso(cancel_at)],
        )
    return Outcome(
        sub,
        True,
        f"Payments for {_title(sub)} will stop on {day_label(cancel_at)}; "
        f"{sub.grant.contact.display_name} keeps access until then.",
    )


def end_subscription(
    *, subscription: Subscription, actor: Actor, now: datetime | None = None
) -> Outcome:
    """End a subscription or payment plan now: no more payments, and its Grant is revoked
    with revoked_via `cancellation`. A grant revoked before stays as it was revoked.
    """
    now = now or timezone.now()
    with transaction.atomic():
        sub = _locked(subscription)
        if sub.status == Status.CANCELED:
            return Outcome(sub, False, f"Payments for {_title(sub)} were already canceled.")
        _refuse_if_over(sub, "to cancel")
        return _end(sub, actor, now)


def end_subscriptions(
    *, subscription_ids: Iterable[int], actor: Actor, now: datetime | None = None
) -> list[Subscription]:
    """End many subscriptions or payment plans now, each as end_subscription ends one;
    returns those it ended. Canceled ones and plans paid in full are left as they are.
    Runs a fixed number of statements, whatever the number of subscriptions.
    """
    now = now or timezone.now()
    with transaction.atomic():
        subs = list(
            Subscription.objects.select_for_update(of=("self",))
            .select_related("grant__contact", "grant__offer")
            .filter(pk__in=list(subscription_ids))
            .exclude(status__in=[Status.CANCELED, Status.COMPLETED])
            .order_by("pk")
        )
        _end_all(subs, actor, now)
    return subs


def _end(sub: Subscription, actor: Actor, now: datetime) -> Outcome:
    _end_all([sub], actor, now)
    sub.grant.refresh_from_db()
    return Outcome(
        sub,
        True,
        f"Payments for {_title(sub)} canceled; "
        f"{sub.grant.contact.display_name}’s access through it has ended.",
    )


def _end_all(subs: list[Subscription], actor: Actor, now: datetime) -> None:
    """Cancel these locked subscriptions now and revoke their grants (`cancellation`)."""
    ending: dict[datetime, list[int]] = defaultdict(list)
    events = []
    for sub in subs:
        old_status = sub.status
        sub.status = Status.CANCELED
        sub.canceled_at = now
        if sub.cancel_at is None or sub.cancel_at > now:
            sub.cancel_at = now
        ending[sub.cancel_at].append(sub.pk)
        events.append(
            _billing_event(
                AccessEvent.Kind.SUBSCRIPTION_CANCELED,
                sub,
                actor,
                now,
                status=[old_status, Status.CANCELED],
                cancel_at=_iso(sub.cancel_at),
            )
        )
    for cancel_at, ids in ending.items():
        Subscription.objects.filter(pk__in=ids).update(
            status=Status.CANCELED, canceled_at=now, cancel_at=cancel_at
        )
    AccessEvent.objects.bulk_create(events)
    # The subscriptions' state in their contacts' facts, whether or not a grant is revoked.
    refresh_access_facts(contact_ids={sub.grant.contact_id for sub in subs}, now=now)
    for kind in sorted({sub.get_kind_display() for sub in subs}):
        revoke_grants(
            grant_ids=[sub.grant_id for sub in subs if sub.get_kind_display() == kind],
            actor=Actor.cancellation(),
            reason=f"{kind} canceled",
            now=now,
        )
    for sub in subs:
        transaction.on_commit(
            lambda sub=sub: subscription_canceled.send(
                sender=Subscription, subscription=sub, actor=actor
            )
        )


def stop_cancellation(
    *, subscription: Subscription, actor: Actor, now: datetime | None = None
) -> Outcome:
    """Take back a pending cancellation: billing and access go on as before."""
    now = now or timezone.now()
    with transaction.atomic():
        sub = _locked(subscription)
        _refuse_if_over(sub, "to keep")
        if sub.cancel_at is None:
            return Outcome(sub, False, f"No cancellation is pending for {_title(sub)}.")
        old = sub.cancel_at
        sub.cancel_at = None
        sub.save(update_fields=["cancel_at"])
        _record(AccessEvent.Kind.CANCELLATION_STOPPED, sub, actor, now, cancel_at=[_iso(old), None])
    return Outcome(
        sub,
        True,
        f"Cancellation stopped: {_title(sub)} keeps billing "
        f"{sub.grant.contact.display_name} as before.",
    )


def pause_subscription(
    *,
    subscription: Subscription,
    actor: Actor,
    until: date | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Take no payment until resumed (by hand, or by the sweep on `until`). Access stays."""
    now = now or timezone.now()
    if until is not None:
        until = _future_day(until, now, "to pause until")
    paused_until = start_of(until) if until else None
    with transaction.atomic():
        sub = _locked(subscription)
        _refuse_if_over(sub, "to pause")
        if sub.status == Status.PAUSED and sub.paused_until == paused_until:
            return Outcome(sub, False, f"Payments for {_title(sub)} were already paused.")
        old_status, old_until = sub.status, sub.paused_until
        sub.status = Status.PAUSED
        sub.paused_until = paused_until
        sub.save(update_fields=["status", "paused_until"])
        refresh_access_facts(contact_ids=[sub.grant.contact_id], now=now)
        _record(
            AccessEvent.Kind.SUBSCRIPTION_PAUSED,
            sub,
            actor,
            now,
            status=[old_status, Status.PAUSED],
            paused_until=[_iso(old_until), _iso(paused_until)],
        )
    until_text = f" until {day_label(paused_until)}" if paused_until else ""
    return Outcome(
        sub,
        True,
        f"Payments for {_title(sub)} paused{until_text}; "
        f"{sub.grant.contact.display_name} keeps access.",
    )


def resume_subscription(
    *, subscription: Subscription, actor: Actor, now: datetime | None = None
) -> Outcome:
    """Take payments again from now on. A billing date that passed while paused is due now."""
    now = now or timezone.now()
    with transaction.atomic():
        sub = _locked(subscription)
        _refuse_if_over(sub, "to resume")
        if sub.status != Status.PAUSED:
            return Outcome(sub, False, f"Payments for {_title(sub)} are not paused.")
        old_next = sub.next_billing_at
        sub.status = Status.ACTIVE
        sub.paused_until = None
        if sub.next_billing_at is not None and sub.next_billing_at < now:
            sub.next_billing_at = now
        sub.save(update_fields=["status", "paused_until", "next_billing_at"])
        refresh_access_facts(contact_ids=[sub.grant.contact_id], now=now)
        _record(
            AccessEvent.Kind.SUBSCRIPTION_RESUMED,
            sub,
            actor,
            now,
            status=[Status.PAUSED, Status.ACTIVE],
            next_billing_at=[_iso(old_next), _iso(sub.next_billing_at)],
        )
    return Outcome(sub, True, f"Payments for {_title(sub)} resumed.")
