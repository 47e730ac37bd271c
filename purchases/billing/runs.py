"""The periodic runs of billing.

Charging what is due, and the access sweep: expiries, cancellations and pauses that end.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from kajaccess.actors import Actor
from purchases.access.services import expire_grants
from purchases.billing.gateways import ChargeResult, GatewayError, PaymentGateway, get_gateway
from purchases.billing.services import (
    RETRY_AFTER,
    SWEEP_BATCH,
    Status,
    _iso,
    _locked,
    _record,
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
