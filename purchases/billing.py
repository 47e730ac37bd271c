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
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import dateformat, timezone

from kajaccess.actors import Actor
from products.models import Offer

from .gateways import ChargeResult, GatewayError, PaymentGateway, get_gateway
from .models import AccessEvent, Payment, Subscription
from .services import Outcome, expire_grants, record_event, revoke_grants
from .signals import payment_failed, subscription_canceled

Status = Subscription.Status

# A declined card is tried again a day later, not at every run of the billing task.
RETRY_AFTER = timedelta(days=1)
SWEEP_BATCH = 200


class CancelWhen(models.TextChoices):
    PERIOD_END = "period_end", "End of the current billing period"
    DATE = "date", "On a custom date"
    NOW = "now", "Cancel now"


# --- Small pieces ---------------------------------------------------------------------


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


def _record(kind: str, subscription: Subscription, actor: Actor, now: datetime, **details):
    record_event(
        kind,
        contact=subscription.grant.contact,
        actor=actor,
        grant_id=subscription.grant_id,
        at=now,
        details={"offer": subscription.grant.offer.title, **details},
    )


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


# --- Cancel ---------------------------------------------------------------------------


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


def _end(sub: Subscription, actor: Actor, now: datetime) -> Outcome:
    old_status = sub.status
    sub.status = Status.CANCELED
    sub.canceled_at = now
    if sub.cancel_at is None or sub.cancel_at > now:
        sub.cancel_at = now
    sub.save(update_fields=["status", "canceled_at", "cancel_at"])
    _record(
        AccessEvent.Kind.SUBSCRIPTION_CANCELED,
        sub,
        actor,
        now,
        status=[old_status, Status.CANCELED],
        cancel_at=_iso(sub.cancel_at),
    )
    revoke_grants(
        grant_ids=[sub.grant_id],
        actor=Actor.cancellation(),
        reason=f"{sub.get_kind_display()} canceled",
        now=now,
    )
    sub.grant.refresh_from_db()
    transaction.on_commit(
        lambda: subscription_canceled.send(sender=Subscription, subscription=sub, actor=actor)
    )
    return Outcome(
        sub,
        True,
        f"Payments for {_title(sub)} canceled; "
        f"{sub.grant.contact.display_name}’s access through it has ended.",
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


# --- Pause and resume -----------------------------------------------------------------


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
        _record(
            AccessEvent.Kind.SUBSCRIPTION_RESUMED,
            sub,
            actor,
            now,
            status=[Status.PAUSED, Status.ACTIVE],
            next_billing_at=[_iso(old_next), _iso(sub.next_billing_at)],
        )
    return Outcome(sub, True, f"Payments for {_title(sub)} resumed.")


# --- Billing run ----------------------------------------------------------------------


@dataclass(frozen=True)
class BillingRun:
    charged: int = 0
    failed: int = 0
    completed: int = 0
    resumed: int = 0

    def __str__(self) -> str:
        return (
            f"{self.charged} charged, {self.failed} failed, "
            f"{self.completed} payment plans completed, {self.resumed} resumed"
        )


def _recent_failures(now: datetime):
    return Payment.objects.filter(status=Payment.Status.FAILED, at__gt=now - RETRY_AFTER)


def due_subscriptions(now: datetime):
    """Subscriptions and payment plans to charge now.

    Active or past due (a revoked grant does not matter: revoking never stops billing),
    due, not set to end by then, and not declined within the last day.
    """
    return (
        Subscription.objects.filter(
            status__in=[Status.ACTIVE, Status.PAST_DUE], next_billing_at__lte=now
        )
        .exclude(cancel_at__lte=F("next_billing_at"))
        .exclude(
            Exists(
                _recent_failures(now).filter(
                    subscription=OuterRef("pk"), due_at=OuterRef("next_billing_at")
                )
            )
        )
    )


def charge_subscription(
    *, subscription: Subscription, gateway: PaymentGateway, now: datetime | None = None
) -> Payment | None:
    """Charge one due billing date through the gateway; None when nothing is due.

    The row lock and the unique successful payment per billing date make sure a billing
    date is paid at most once, however many runs meet.
    """
    now = now or timezone.now()
    with transaction.atomic():
        sub = _locked(subscription)
        due_at = sub.next_billing_at
        if (
            sub.status not in (Status.ACTIVE, Status.PAST_DUE)
            or due_at is None
            or due_at > now
            or (sub.cancel_at is not None and sub.cancel_at <= due_at)
            or (sub.is_payment_plan and sub.installments_paid >= sub.installments_total)
            or sub.payments.filter(status=Payment.Status.SUCCEEDED, due_at=due_at).exists()
            or _recent_failures(now).filter(subscription=sub, due_at=due_at).exists()
        ):
            return None
        try:
            result = gateway.charge(sub, sub.amount)
        except GatewayError as error:
            result = ChargeResult(False, str(error) or "The payment gateway did not answer.")
        payment = Payment.objects.create(
            subscription=sub,
            amount=sub.amount,
            currency=sub.currency,
            status=Payment.Status.SUCCEEDED if result.succeeded else Payment.Status.FAILED,
            due_at=due_at,
            at=now,
        )
        money = {"amount": str(sub.amount), "currency": sub.currency, "due_at": _iso(due_at)}
        if result.succeeded:
            _paid(sub, now, money, result)
        else:
            old_status = sub.status
            sub.status = Status.PAST_DUE
            sub.save(update_fields=["status"])
            _record(
                AccessEvent.Kind.PAYMENT_FAILED,
                sub,
                Actor.system(),
                now,
                **money,
                status=[old_status, Status.PAST_DUE],
                message=result.message,
            )
            transaction.on_commit(
                lambda: payment_failed.send(sender=Subscription, subscription=sub, payment=payment)
            )
    return payment


def _paid(sub: Subscription, now: datetime, money: dict, result: ChargeResult) -> None:
    old_status = sub.status
    sub.installments_paid += 1
    sub.status = Status.ACTIVE
    sub.next_billing_at = next_billing_date(sub.next_billing_at, sub.interval)
    finished = sub.is_payment_plan and sub.installments_paid >= sub.installments_total
    if finished:
        sub.status = Status.COMPLETED
        sub.next_billing_at = None
    sub.save(update_fields=["installments_paid", "status", "next_billing_at"])
    installment = (
        f"{sub.installments_paid} of {sub.installments_total}" if sub.is_payment_plan else None
    )
    _record(
        AccessEvent.Kind.PAYMENT_SUCCEEDED,
        sub,
        Actor.system(),
        now,
        **money,
        reference=result.reference,
        installment=installment,
        status=[old_status, Status.ACTIVE],
    )
    if finished:
        _record(
            AccessEvent.Kind.PLAN_COMPLETED,
            sub,
            Actor.system(),
            now,
            status=[Status.ACTIVE, Status.COMPLETED],
            installments=installment,
        )


def run_billing(
    *, now: datetime | None = None, gateway: PaymentGateway | None = None
) -> BillingRun:
    """Charge every subscription and payment plan that is due; each billing date once.

    Pauses whose date has come are resumed first. Each subscription is charged in its own
    transaction, at most once per run, so a run that dies loses nothing and a second run
    for the same day charges nothing twice.
    """
    now = now or timezone.now()
    gateway = gateway or get_gateway()
    resumed = resume_due_pauses(now=now)
    charged = failed = completed = 0
    after = 0
    while True:
        batch = list(due_subscriptions(now).filter(pk__gt=after).order_by("pk")[:SWEEP_BATCH])
        if not batch:
            break
        after = batch[-1].pk
        for subscription in batch:
            payment = charge_subscription(subscription=subscription, gateway=gateway, now=now)
            if payment is None:
                continue
            if payment.status == Payment.Status.FAILED:
                failed += 1
                continue
            charged += 1
            if payment.subscription.status == Status.COMPLETED:
                completed += 1
    return BillingRun(charged, failed, completed, resumed)


# --- Access sweep ---------------------------------------------------------------------


@dataclass(frozen=True)
class AccessSweep:
    expired: int = 0
    canceled: int = 0
    resumed: int = 0

    def __str__(self) -> str:
        return (
            f"{self.expired} grants expired, {self.canceled} subscriptions ended, "
            f"{self.resumed} resumed"
        )


def _each_due(queryset):
    after = 0
    while True:
        batch = list(queryset.filter(pk__gt=after).order_by("pk")[:SWEEP_BATCH])
        if not batch:
            return
        after = batch[-1].pk
        yield from batch


def end_due_cancellations(*, now: datetime | None = None) -> int:
    """End every subscription whose cancellation date has come; returns how many."""
    now = now or timezone.now()
    due = Subscription.objects.filter(
        status__in=[Status.ACTIVE, Status.PAST_DUE, Status.PAUSED], cancel_at__lte=now
    )
    return sum(
        end_subscription(subscription=sub, actor=Actor.cancellation(), now=now).changed
        for sub in _each_due(due)
    )


def resume_due_pauses(*, now: datetime | None = None) -> int:
    """Resume every pause whose date has come; returns how many."""
    now = now or timezone.now()
    due = Subscription.objects.filter(status=Status.PAUSED, paused_until__lte=now)
    return sum(
        resume_subscription(subscription=sub, actor=Actor.system(), now=now).changed
        for sub in _each_due(due)
    )


def process_access(*, now: datetime | None = None) -> AccessSweep:
    """Record every expiry, end every due cancellation, resume every due pause.

    Access is refused from the moment of expiry whether or not this has run; the sweep
    writes it down, so the audit trail and the Purchases tab read `Revoked`.
    """
    now = now or timezone.now()
    expired = expire_grants(now=now)
    canceled = end_due_cancellations(now=now)
    resumed = resume_due_pauses(now=now)
    return AccessSweep(expired, canceled, resumed)
