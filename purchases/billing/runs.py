"""The periodic runs of billing.

Charging what is due, and the access sweep: expiries, cancellations and pauses that end.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from kajaccess.actors import Actor
from products.models import Offer
from purchases.access.facts import (
    catch_up_access_facts,
    compact_access_counts,
    refresh_access_facts,
)
from purchases.access.services import expire_grants
from purchases.billing.gateways import ChargeResult, GatewayError, PaymentGateway, get_gateway
from purchases.billing.services import (
    RETRY_AFTER,
    SWEEP_BATCH,
    Status,
    _billing_event,
    _iso,
    end_subscription,
    next_billing_date,
    resume_subscription,
)
from purchases.models import AccessEvent, Payment, Subscription
from purchases.signals import payment_failed


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


def _chargeable(sub: Subscription, now: datetime) -> bool:
    due_at = sub.next_billing_at
    return (
        sub.status in (Status.ACTIVE, Status.PAST_DUE)
        and due_at is not None
        and due_at <= now
        and (sub.cancel_at is None or sub.cancel_at > due_at)
        and not (sub.is_payment_plan and sub.installments_paid >= sub.installments_total)
    )


def _settled(subscriptions: list[Subscription], now: datetime) -> set[tuple[int, datetime]]:
    """The (subscription, billing date) pairs already paid, or declined within a day."""
    payments = Payment.objects.filter(
        subscription_id__in=[sub.pk for sub in subscriptions],
        due_at__in={sub.next_billing_at for sub in subscriptions},
    ).filter(
        Q(status=Payment.Status.SUCCEEDED)
        | Q(status=Payment.Status.FAILED, at__gt=now - RETRY_AFTER)
    )
    return set(payments.values_list("subscription_id", "due_at"))


def charge_subscriptions(
    *, subscription_ids: Iterable[int], gateway: PaymentGateway, now: datetime | None = None
) -> list[Payment]:
    """Charge the due billing date of each of these subscriptions through the gateway;
    returns the payments made, in primary-key order. Those with nothing due are left alone.

    The row locks and the unique successful payment per billing date make sure a billing
    date is paid at most once, however many runs meet. Besides the gateway's charges it
    runs a fixed number of statements, whatever the number of subscriptions.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = list(
            Subscription.objects.select_for_update(of=("self",))
            .select_related("grant__contact")
            .filter(pk__in=list(subscription_ids))
            .order_by("pk")
        )
        # Many subscriptions share a few Offers: each is read once, not once per row.
        offers = Offer.objects.in_bulk({sub.grant.offer_id for sub in locked})
        for sub in locked:
            sub.grant.offer = offers[sub.grant.offer_id]
        due = [sub for sub in locked if _chargeable(sub, now)]
        settled = _settled(due, now) if due else set()
        due = [sub for sub in due if (sub.pk, sub.next_billing_at) not in settled]
        if not due:
            return []
        payments, events = [], []
        for sub in due:
            payment, recorded = _charge(sub, gateway, now)
            payments.append(payment)
            events.extend(recorded)
        Payment.objects.bulk_create(payments)
        _save_charged(due, payments)
        AccessEvent.objects.bulk_create(events)
        refresh_access_facts(contact_ids={sub.grant.contact_id for sub in due}, now=now)
        for payment in payments:
            if payment.status == Payment.Status.FAILED:
                transaction.on_commit(
                    lambda payment=payment: payment_failed.send(
                        sender=Subscription, subscription=payment.subscription, payment=payment
                    )
                )
    return payments


def _save_charged(subscriptions: list[Subscription], payments: list[Payment]) -> None:
    """One UPDATE per outcome: a billing run's subscriptions that were due on the same
    date move on to the same next date together."""
    outcomes = defaultdict(list)
    for sub, payment in zip(subscriptions, payments, strict=True):
        paid = payment.status == Payment.Status.SUCCEEDED
        outcomes[(sub.status, sub.next_billing_at, paid)].append(sub.pk)
    for (status, next_billing_at, paid), ids in outcomes.items():
        fields = {"status": status, "next_billing_at": next_billing_at}
        if paid:
            fields["installments_paid"] = F("installments_paid") + 1
        Subscription.objects.filter(pk__in=ids).update(**fields)


def charge_subscription(
    *, subscription: Subscription, gateway: PaymentGateway, now: datetime | None = None
) -> Payment | None:
    """Charge one due billing date through the gateway; None when nothing is due."""
    payments = charge_subscriptions(subscription_ids=[subscription.pk], gateway=gateway, now=now)
    return payments[0] if payments else None


def _charge(
    sub: Subscription, gateway: PaymentGateway, now: datetime
) -> tuple[Payment, list[AccessEvent]]:
    """Charge a locked, due subscription and move it on; the rows are saved by the caller."""
    due_at = sub.next_billing_at
    try:
        result = gateway.charge(sub, sub.amount)
    except GatewayError as error:
        result = ChargeResult(False, str(error) or "The payment gateway did not answer.")
    payment = Payment(
        subscription=sub,
        amount=sub.amount,
        currency=sub.currency,
        status=Payment.Status.SUCCEEDED if result.succeeded else Payment.Status.FAILED,
        due_at=due_at,
        at=now,
    )
    money = {"amount": str(sub.amount), "currency": sub.currency, "due_at": _iso(due_at)}
    if result.succeeded:
        return payment, _paid(sub, now, money, result)
    old_status = sub.status
    sub.status = Status.PAST_DUE
    failed = _billing_event(
        AccessEvent.Kind.PAYMENT_FAILED,
        sub,
        Actor.system(),
        now,
        **money,
        status=[old_status, Status.PAST_DUE],
        message=result.message,
    )
    return payment, [failed]


def _paid(sub: Subscription, now: datetime, money: dict, result: ChargeResult) -> list[AccessEvent]:
    old_status = sub.status
    sub.installments_paid += 1
    sub.status = Status.ACTIVE
    sub.next_billing_at = next_billing_date(sub.next_billing_at, sub.interval)
    finished = sub.is_payment_plan and sub.installments_paid >= sub.installments_total
    if finished:
        sub.status = Status.COMPLETED
        sub.next_billing_at = None
    installment = (
        f"{sub.installments_paid} of {sub.installments_total}" if sub.is_payment_plan else None
    )
    events = [
        _billing_event(
            AccessEvent.Kind.PAYMENT_SUCCEEDED,
            sub,
            Actor.system(),
            now,
            **money,
            reference=result.reference,
            installment=installment,
            status=[old_status, Status.ACTIVE],
        )
    ]
    if finished:
        events.append(
            _billing_event(
                AccessEvent.Kind.PLAN_COMPLETED,
                sub,
                Actor.system(),
                now,
                status=[Status.ACTIVE, Status.COMPLETED],
                installments=installment,
            )
        )
    return events


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
    # Access that started or ended since, on sites nobody looked at, and the counters'
    # change rows folded together.
    catch_up_access_facts(now=now)
    compact_access_counts()
    return AccessSweep(expired, canceled, resumed)
