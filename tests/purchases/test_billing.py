"""Cancel, pause, resume and the billing run, through the billing services."""

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from kajaccess.actors import Actor
from products.models import Offer
from purchases.access import selectors, services
from purchases.access.facts import refresh_access_facts
from purchases.billing import runs as billing_runs
from purchases.billing import services as billing
from purchases.billing.gateways import ChargeResult, GatewayError, PaymentGateway
from purchases.models import AccessEvent, Grant, Payment, Subscription
from purchases.signals import payment_failed, subscription_canceled
from tests.factories import ContactFactory, OfferFactory, ProductFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
Status = Subscription.Status


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


@pytest.fixture
def vault(member):
    product = ProductFactory(site=member.site, title="The Vault", lessons=2)
    return OfferFactory(
        site=member.site,
        title="Vault Membership",
        products=[product],
        price=Decimal("29.00"),
        payment_type=Offer.PaymentType.SUBSCRIPTION,
    )


@pytest.fixture
def coaching(member):
    product = ProductFactory(site=member.site, title="Coaching Calls")
    return OfferFactory(
        site=member.site,
        title="Coaching Plan",
        products=[product],
        price=Decimal("150.00"),
        payment_type=Offer.PaymentType.PAYMENT_PLAN,
        installments=3,
    )


def buy(offer, contact=None, starts_at=T0) -> Subscription:
    contact = contact or ContactFactory(site=offer.site, name="Ada Lovelace")
    grant = services.grant_offer(
        contact=contact,
        offer=offer,
        actor=Actor.customer(None),
        source=Grant.Source.PURCHASE,
        starts_at=starts_at,
    ).obj
    return Subscription.objects.select_related("grant__contact", "grant__offer").get(grant=grant)


def paid(offer, contact=None) -> Subscription:
    """A subscription whose first payment went through at T0: next billing a month later."""
    subscription = buy(offer, contact)
    billing_runs.run_billing(now=T0)
    subscription.refresh_from_db()
    return subscription


def kinds(subscription) -> list[str]:
    return list(
        AccessEvent.objects.filter(grant=subscription.grant_id)
        .order_by("pk")
        .values_list("kind", flat=True)
    )


def product_of(subscription):
    return subscription.grant.offer.products.get()


# --- Cancel ---------------------------------------------------------------------------


def test_cancel_at_period_end_keeps_billing_and_access_until_then(vault, creator):
    sub = paid(vault)
    outcome = billing.cancel_subscription(
        subscription=sub, actor=creator, when=billing.CancelWhen.PERIOD_END, now=at(3)
    )
    assert outcome.changed
    assert "will stop on Apr 2, 2026" in outcome.message
    sub.refresh_from_db()
    assert sub.cancel_at == at(31) == sub.next_billing_at
    assert sub.status == Status.ACTIVE
    assert sub.display_status == "Cancellation pending"
    assert selectors.has_access(sub.grant.contact, product_of(sub))
    event = AccessEvent.objects.get(kind=AccessEvent.Kind.CANCELLATION_SCHEDULED)
    assert (event.actor, event.actor_kind, event.details["when"]) == (
        creator.user,
        "creator",
        "period_end",
    )

    again = billing.cancel_subscription(subscription=sub, actor=creator, now=at(4))
    assert not again.changed
    assert "already set to stop on Apr 2, 2026" in again.message
    assert kinds(sub).count(AccessEvent.Kind.CANCELLATION_SCHEDULED) == 1


def test_cancel_on_a_custom_date(vault, creator):
    sub = paid(vault)
    outcome = billing.cancel_subscription(
        subscription=sub, actor=creator, when="date", on=at(50).date(), now=at(3)
    )
    assert outcome.changed
    sub.refresh_from_db()
    assert sub.cancel_at == billing.start_of(at(50).date())
    assert "will stop on Apr 21, 2026" in outcome.message


@pytest.mark.parametrize("day", [None, -1, 0], ids=["missing", "past", "today"])
def test_cancel_on_a_date_needs_a_future_date_and_changes_nothing(vault, creator, day):
    sub = paid(vault)
    on = None if day is None else at(3 + day).date()
    with pytest.raises(ValidationError, match="Pick"):
        billing.cancel_subscription(subscription=sub, actor=creator, when="date", on=on, now=at(3))
    sub.refresh_from_db()
    assert sub.cancel_at is None
    assert AccessEvent.Kind.CANCELLATION_SCHEDULED not in kinds(sub)


def test_cancel_with_unknown_when_is_refused(vault, creator):
    sub = paid(vault)
    with pytest.raises(ValidationError, match="Choose when"):
        billing.cancel_subscription(subscription=sub, actor=creator, when="someday")


def test_cancel_now_ends_payments_and_access(vault, creator, django_capture_on_commit_callbacks):
    sub = paid(vault)
    received = []

    def listener(sender, subscription, actor, **kwargs):
        received.append((subscription.pk, subscription.status, actor))

    subscription_canceled.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            outcome = billing.cancel_subscription(
                subscription=sub, actor=creator, when="now", now=at(5)
            )
    finally:
        subscription_canceled.disconnect(listener)
    assert outcome.changed
    sub.refresh_from_db()
    assert (sub.status, sub.canceled_at, sub.cancel_at) == (Status.CANCELED, at(5), at(5))
    assert sub.display_status == "Canceled"
    assert received == [(sub.pk, Status.CANCELED, creator)]

    grant = selectors.contact_grants(sub.grant.contact).get()
    state = selectors.access_status(grant)
    assert (state.label, state.revoked_by) == ("Access revoked", "Revoked")
    assert grant.revoked_via == "cancellation"
    assert not selectors.has_access(grant.contact, product_of(sub))
    assert kinds(sub)[-2:] == [AccessEvent.Kind.SUBSCRIPTION_CANCELED, AccessEvent.Kind.REVOKED]
    canceled = AccessEvent.objects.get(kind=AccessEvent.Kind.SUBSCRIPTION_CANCELED)
    revoked = AccessEvent.objects.get(kind=AccessEvent.Kind.REVOKED)
    assert (canceled.actor_kind, revoked.actor_kind) == ("creator", "cancellation")

    again = billing.cancel_subscription(subscription=sub, actor=creator, when="now")
    assert not again.changed
    assert again.message == "Payments for “Vault Membership” were already canceled."
    assert kinds(sub).count(AccessEvent.Kind.SUBSCRIPTION_CANCELED) == 1


def test_cancel_now_replaces_a_pending_cancellation(vault, creator):
    sub = paid(vault)
    billing.cancel_subscription(subscription=sub, actor=creator, now=at(3))
    billing.cancel_subscription(subscription=sub, actor=creator, when="now", now=at(4))
    sub.refresh_from_db()
    assert (sub.status, sub.cancel_at) == (Status.CANCELED, at(4))


def test_ending_a_subscription_keeps_an_earlier_revoke_as_it_was(vault, creator):
    sub = paid(vault)
    services.revoke_grant(grant=sub.grant, actor=creator, reason="Chargeback")
    billing.end_subscription(subscription=sub, actor=creator, now=at(6))
    grant = selectors.contact_grants(sub.grant.contact).get()
    assert selectors.access_status(grant).revoked_by == f"Revoked by {creator.user.email}"
    assert grant.revoke_reason == "Chargeback"


def test_a_finished_payment_plan_cannot_be_canceled(coaching, creator):
    sub = buy(coaching)
    for when in (T0, at(31), at(61)):
        billing_runs.run_billing(now=when)
    sub.refresh_from_db()
    assert sub.status == Status.COMPLETED
    with pytest.raises(ValidationError, match="paid in full"):
        billing.cancel_subscription(subscription=sub, actor=creator, when="now")


def test_stop_cancellation(vault, creator):
    sub = paid(vault)
    billing.cancel_subscription(subscription=sub, actor=creator, now=at(3))
    outcome = billing.stop_cancellation(subscription=sub, actor=creator, now=at(4))
    assert outcome.changed
    assert "keeps billing Ada Lovelace" in outcome.message
    sub.refresh_from_db()
    assert sub.cancel_at is None
    assert sub.display_status == "Active"
    assert kinds(sub)[-1] == AccessEvent.Kind.CANCELLATION_STOPPED

    again = billing.stop_cancellation(subscription=sub, actor=creator)
    assert not again.changed
    assert again.message == "No cancellation is pending for “Vault Membership”."
    assert kinds(sub).count(AccessEvent.Kind.CANCELLATION_STOPPED) == 1


def test_a_canceled_subscription_cannot_be_paused_resumed_or_kept(vault, creator):
    sub = paid(vault)
    billing.end_subscription(subscription=sub, actor=creator)
    for service in (
        billing.pause_subscription,
        billing.resume_subscription,
        billing.stop_cancellation,
    ):
        with pytest.raises(ValidationError, match="already canceled"):
            service(subscription=sub, actor=creator)


# --- Pause and resume -----------------------------------------------------------------


def test_pause_indefinitely_keeps_access_and_takes_no_payment(vault, creator):
    sub = paid(vault)
    outcome = billing.pause_subscription(subscription=sub, actor=creator, now=at(3))
    assert outcome.changed
    assert outcome.message == ("Payments for “Vault Membership” paused; Ada Lovelace keeps access.")
    sub.refresh_from_db()
    assert (sub.status, sub.paused_until, sub.display_status) == (Status.PAUSED, None, "Paused")
    assert selectors.has_access(sub.grant.contact, product_of(sub))
    assert selectors.access_status(selectors.contact_grants(sub.grant.contact).get()) is None

    assert billing_runs.run_billing(now=at(40)).charged == 0
    assert sub.payments.count() == 1
    event = AccessEvent.objects.get(kind=AccessEvent.Kind.SUBSCRIPTION_PAUSED)
    assert event.details["status"] == ["active", "paused"]

    assert not billing.pause_subscription(subscription=sub, actor=creator, now=at(4)).changed
    assert kinds(sub).count(AccessEvent.Kind.SUBSCRIPTION_PAUSED) == 1


def test_pause_until_a_date(vault, creator):
    sub = paid(vault)
    outcome = billing.pause_subscription(
        subscription=sub, actor=creator, until=at(60).date(), now=at(3)
    )
    assert "paused until May 1, 2026" in outcome.message
    sub.refresh_from_db()
    assert sub.paused_until == billing.start_of(at(60).date())
    with pytest.raises(ValidationError, match="Pick a date after today"):
        billing.pause_subscription(subscription=sub, actor=creator, until=at(3).date(), now=at(3))
    sub.refresh_from_db()
    assert sub.paused_until == billing.start_of(at(60).date())


def test_resume_takes_payments_again_from_now(vault, creator):
    sub = paid(vault)
    billing.pause_subscription(subscription=sub, actor=creator, now=at(3))
    outcome = billing.resume_subscription(subscription=sub, actor=creator, now=at(45))
    assert outcome.changed
    assert outcome.message == "Payments for “Vault Membership” resumed."
    sub.refresh_from_db()
    # The billing date of Apr 2 passed while paused: the next payment is due at once.
    assert (sub.status, sub.paused_until, sub.next_billing_at) == (Status.ACTIVE, None, at(45))
    assert kinds(sub)[-1] == AccessEvent.Kind.SUBSCRIPTION_RESUMED

    assert billing_runs.run_billing(now=at(45)).charged == 1
    sub.refresh_from_db()
    assert sub.next_billing_at == billing.next_billing_date(at(45), "month")

    again = billing.resume_subscription(subscription=sub, actor=creator)
    assert not again.changed
    assert again.message == "Payments for “Vault Membership” are not paused."


def test_resume_before_the_billing_date_keeps_it(vault, creator):
    sub = paid(vault)
    billing.pause_subscription(subscription=sub, actor=creator, now=at(3))
    billing.resume_subscription(subscription=sub, actor=creator, now=at(10))
    sub.refresh_from_db()
    assert sub.next_billing_at == at(31)


# --- Access and billing stay apart ----------------------------------------------------


def test_revoking_access_never_changes_billing(vault, creator):
    sub = paid(vault)
    services.revoke_grant(grant=sub.grant, actor=creator, reason="Chargeback")
    services.revoke_product(grant=sub.grant, product=product_of(sub), actor=creator)
    sub.refresh_from_db()
    assert (sub.status, sub.cancel_at, sub.paused_until) == (Status.ACTIVE, None, None)
    assert sub.is_billing
    # A revoke never skips billing: the revoked customer is charged until someone cancels.
    run = billing_runs.run_billing(now=at(31))
    assert (run.charged, run.failed) == (1, 0)
    assert list(sub.payments.values_list("due_at", "status")) == [
        (at(31), "succeeded"),
        (T0, "succeeded"),
    ]


def test_cancelling_and_pausing_never_revoke(vault, creator):
    sub = paid(vault)
    contact, product = sub.grant.contact, product_of(sub)
    billing.pause_subscription(subscription=sub, actor=creator, now=at(1))
    billing.resume_subscription(subscription=sub, actor=creator, now=at(2))
    billing.cancel_subscription(subscription=sub, actor=creator, now=at(3))
    billing.stop_cancellation(subscription=sub, actor=creator, now=at(4))
    billing.cancel_subscription(
        subscription=sub, actor=creator, when="date", on=at(20).date(), now=at(5)
    )
    assert selectors.has_access(contact, product, now=at(6))
    grant = Grant.objects.get(pk=sub.grant_id)
    assert grant.status == "active"
    assert AccessEvent.Kind.REVOKED not in kinds(sub)


# --- Billing run ----------------------------------------------------------------------


def test_billing_run_charges_what_is_due_once(vault, creator):
    sub = buy(vault)
    later = buy(vault, starts_at=at(10))
    run = billing_runs.run_billing(now=at(1))
    assert (run.charged, run.failed) == (1, 0)
    sub.refresh_from_db()
    payment = sub.payments.get()
    assert (payment.status, payment.due_at, payment.at, payment.amount) == (
        "succeeded",
        T0,
        at(1),
        Decimal("29.00"),
    )
    assert sub.next_billing_at == datetime(2026, 4, 2, 9, 0, tzinfo=UTC)
    assert sub.installments_paid == 1
    assert not later.payments.exists()
    event = AccessEvent.objects.get(kind=AccessEvent.Kind.PAYMENT_SUCCEEDED)
    assert (event.actor_kind, event.details["amount"]) == ("system", "29.00")

    # The same day again: nothing is charged twice.
    assert billing_runs.run_billing(now=at(1)).charged == 0
    assert billing_runs.run_billing(now=at(1.5)).charged == 0
    assert Payment.objects.count() == 1


def test_a_late_run_charges_one_billing_date_per_run(vault):
    sub = buy(vault)
    assert billing_runs.run_billing(now=at(70)).charged == 1
    sub.refresh_from_db()
    assert sub.next_billing_at == at(31)
    assert billing_runs.run_billing(now=at(70)).charged == 1
    assert sorted(sub.payments.values_list("due_at", flat=True)) == [T0, at(31)]


def test_billing_skips_paused_and_canceled_and_pending_at_period_end(vault, creator):
    paused = paid(vault)
    canceled = paid(vault)
    pending = paid(vault)
    billing.pause_subscription(subscription=paused, actor=creator, now=at(2))
    billing.end_subscription(subscription=canceled, actor=creator, now=at(2))
    billing.cancel_subscription(subscription=pending, actor=creator, now=at(2))
    assert billing_runs.run_billing(now=at(31)).charged == 0
    assert Payment.objects.count() == 3  # the first payment of each


def test_a_pending_cancellation_after_the_billing_date_is_still_charged(vault, creator):
    sub = paid(vault)
    billing.cancel_subscription(
        subscription=sub, actor=creator, when="date", on=at(40).date(), now=at(2)
    )
    assert billing_runs.run_billing(now=at(31)).charged == 1


def test_payment_plan_completes_after_its_last_installment_and_keeps_access(coaching):
    sub = buy(coaching)
    for when in (T0, at(31), at(61)):
        billing_runs.run_billing(now=when)
    sub.refresh_from_db()
    assert (sub.status, sub.installments_paid, sub.next_billing_at) == (Status.COMPLETED, 3, None)
    assert sub.display_status == "Completed"
    assert kinds(sub).count(AccessEvent.Kind.PAYMENT_SUCCEEDED) == 3
    assert kinds(sub)[-1] == AccessEvent.Kind.PLAN_COMPLETED
    assert selectors.has_access(sub.grant.contact, product_of(sub), now=at(400))
    assert selectors.access_status(selectors.contact_grants(sub.grant.contact).get()) is None
    assert billing_runs.run_billing(now=at(400)).charged == 0


def test_a_declined_card_makes_it_past_due_and_fires_payment_failed(
    vault, django_capture_on_commit_callbacks
):
    contact = ContactFactory(site=vault.site, test_card_declines=True)
    sub = paid(vault, contact)
    assert sub.status == Status.PAST_DUE
    received = []

    def listener(sender, subscription, payment, **kwargs):
        received.append((subscription.pk, payment.status))

    payment_failed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            # Tried again a day after the first decline.
            run = billing_runs.run_billing(now=at(1.5))
    finally:
        payment_failed.disconnect(listener)
    assert (run.charged, run.failed) == (0, 1)
    assert received == [(sub.pk, "failed")]
    sub.refresh_from_db()
    assert (sub.status, sub.display_status, sub.next_billing_at) == (
        Status.PAST_DUE,
        "Past due",
        T0,
    )
    assert sub.is_billing
    event = AccessEvent.objects.filter(kind=AccessEvent.Kind.PAYMENT_FAILED).latest("pk")
    assert "declined" in event.details["message"]
    # Not tried again on the same day; access is not touched by a failed payment.
    assert billing_runs.run_billing(now=at(2)).failed == 0
    assert selectors.has_access(contact, product_of(sub), now=at(2))

    contact.test_card_declines = False
    contact.save(update_fields=["test_card_declines"])
    assert billing_runs.run_billing(now=at(3)).charged == 1
    sub.refresh_from_db()
    assert (sub.status, sub.next_billing_at) == (Status.ACTIVE, at(31))
    assert list(sub.payments.values_list("status", flat=True)) == [
        "succeeded",
        "failed",
        "failed",
    ]


def test_a_due_pause_resumes_before_the_run_charges(vault, creator):
    sub = paid(vault)
    billing.pause_subscription(subscription=sub, actor=creator, until=at(45).date(), now=at(3))
    assert billing_runs.run_billing(now=at(40)).charged == 0
    run = billing_runs.run_billing(now=at(46))
    assert (run.resumed, run.charged) == (1, 1)
    sub.refresh_from_db()
    assert sub.status == Status.ACTIVE
    resumed = AccessEvent.objects.get(kind=AccessEvent.Kind.SUBSCRIPTION_RESUMED)
    assert resumed.actor_kind == "system"


class DecliningGateway(PaymentGateway):
    def charge(self, subscription, amount):
        return ChargeResult(False, "Insufficient funds")


class BrokenGateway(PaymentGateway):
    def charge(self, subscription, amount):
        raise GatewayError("Gateway timed out")


@override_settings(PAYMENT_GATEWAY="tests.purchases.test_billing.DecliningGateway")
def test_the_gateway_comes_from_settings(vault):
    sub = buy(vault)
    assert billing_runs.run_billing(now=at(1)).failed == 1
    assert sub.payments.get().status == "failed"
    event = AccessEvent.objects.get(kind=AccessEvent.Kind.PAYMENT_FAILED)
    assert event.details["message"] == "Insufficient funds"


def test_a_gateway_error_counts_as_a_failed_payment(vault):
    sub = buy(vault)
    run = billing_runs.run_billing(now=at(1), gateway=BrokenGateway())
    assert (run.charged, run.failed) == (0, 1)
    sub.refresh_from_db()
    assert sub.status == Status.PAST_DUE


@pytest.mark.parametrize(
    ("due", "interval", "expected"),
    [
        (datetime(2026, 1, 31, 9, tzinfo=UTC), "month", datetime(2026, 2, 28, 9)),
        (datetime(2026, 12, 15, 9, tzinfo=UTC), "month", datetime(2027, 1, 15, 9)),
        (datetime(2028, 2, 29, 9, tzinfo=UTC), "year", datetime(2029, 2, 28, 9)),
    ],
)
def test_next_billing_date(due, interval, expected):
    assert billing.next_billing_date(due, interval) == expected.replace(tzinfo=UTC)


# --- Many at once -------------------------------------------------------------------


def test_charge_subscriptions_charges_each_due_billing_date_once(vault, coaching):
    due = buy(vault)
    declined = buy(vault, ContactFactory(site=vault.site, test_card_declines=True))
    later = buy(vault, starts_at=at(10))
    plan = buy(coaching)
    ids = [due.pk, declined.pk, later.pk, plan.pk]
    payments = billing_runs.charge_subscriptions(
        subscription_ids=ids, gateway=billing_runs.get_gateway(), now=T0
    )
    assert [(p.subscription_id, p.status) for p in payments] == [
        (due.pk, "succeeded"),
        (declined.pk, "failed"),
        (plan.pk, "succeeded"),
    ]
    states = {
        sub.pk: (sub.status, sub.installments_paid, sub.next_billing_at)
        for sub in Subscription.objects.filter(pk__in=ids)
    }
    assert states == {
        due.pk: (Status.ACTIVE, 1, at(31)),
        declined.pk: (Status.PAST_DUE, 0, T0),
        later.pk: (Status.ACTIVE, 0, at(10)),
        plan.pk: (Status.ACTIVE, 1, at(31)),
    }
    assert kinds(plan) == [AccessEvent.Kind.GRANTED, AccessEvent.Kind.PAYMENT_SUCCEEDED]
    assert AccessEvent.objects.get(kind=AccessEvent.Kind.PAYMENT_FAILED).grant_id == (
        declined.grant_id
    )
    # The same day again: paid dates are not charged twice, a decline waits a day.
    assert (
        billing_runs.charge_subscriptions(
            subscription_ids=ids, gateway=billing_runs.get_gateway(), now=at(0.5)
        )
        == []
    )


def test_charge_subscriptions_costs_the_same_statements_for_one_as_for_five(vault):
    subs = [buy(vault, ContactFactory(site=vault.site)) for _ in range(6)]

    def statements(batch):
        with CaptureQueriesContext(connection) as queries:
            charged = billing_runs.charge_subscriptions(
                subscription_ids=[sub.pk for sub in batch],
                gateway=billing_runs.get_gateway(),
                now=T0,
            )
        assert len(charged) == len(batch)
        return len(queries)

    assert statements(subs[:1]) == statements(subs[1:])


def test_end_subscriptions_ends_each_once_and_revokes_its_grant(
    vault, coaching, creator, django_capture_on_commit_callbacks
):
    membership, plan = paid(vault), paid(coaching)
    finished = paid(coaching)
    Subscription.objects.filter(pk=finished.pk).update(status=Status.COMPLETED)
    refresh_access_facts(contact_ids=[finished.grant.contact_id])  # written by hand
    ended = []

    def listener(sender, subscription, **kwargs):
        ended.append(subscription.pk)

    subscription_canceled.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            done = billing.end_subscriptions(
                subscription_ids=[plan.pk, membership.pk, finished.pk], actor=creator, now=at(3)
            )
    finally:
        subscription_canceled.disconnect(listener)
    assert [sub.pk for sub in done] == ended == sorted([membership.pk, plan.pk])
    for sub, reason in [(membership, "Subscription canceled"), (plan, "Payment plan canceled")]:
        sub.refresh_from_db()
        assert (sub.status, sub.canceled_at, sub.cancel_at) == (Status.CANCELED, at(3), at(3))
        assert (sub.grant.status, sub.grant.revoked_via, sub.grant.revoke_reason) == (
            "revoked",
            "cancellation",
            reason,
        )
        assert kinds(sub)[-2:] == [
            AccessEvent.Kind.SUBSCRIPTION_CANCELED,
            AccessEvent.Kind.REVOKED,
        ]
    finished.refresh_from_db()
    assert finished.status == Status.COMPLETED
    again = billing.end_subscriptions(subscription_ids=[membership.pk], actor=creator, now=at(4))
    assert again == []
    assert kinds(membership).count(AccessEvent.Kind.SUBSCRIPTION_CANCELED) == 1


@pytest.mark.django_db(transaction=True)
def test_two_billing_runs_at_once_charge_once(postgres_only, vault):
    sub = buy(vault)
    barrier = threading.Barrier(2)
    errors = []

    def run():
        try:
            barrier.wait()
            billing_runs.run_billing(now=at(1))
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sub.payments.count() == 1
    sub.refresh_from_db()
    assert sub.installments_paid == 1
