"""The generated customers' stories, replayed day by day through the services.

On each day every step of every story is gathered by what it does, so that one call of
a set-based service (`grant_offer_to_contacts`, `revoke_grants`, `charge_subscriptions`,
`end_subscriptions`) acts on all the customers it concerns that day, dated that day.
"""

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

from django.utils import timezone

from contacts.models import Contact
from kajaccess.demo.catalogue import Catalogue
from kajaccess.demo.customers import DAY, Customer, Step, days_before
from purchases.access.services import (
    expire_grants,
    grant_offer_to_contacts,
    revoke_grants,
    revoke_product,
)
from purchases.billing.gateways import TestGateway
from purchases.billing.runs import charge_subscriptions
from purchases.billing.services import (
    CancelWhen,
    cancel_subscription,
    day_label,
    end_subscriptions,
    pause_subscription,
)
from purchases.models import Grant, Payment, Subscription

QUARTER = 91  # days between two progress reports


class History:
    """The days of a batch of generated customers, from the earliest to today."""

    def __init__(self, catalogue: Catalogue, now: datetime):
        self.catalogue = catalogue
        self.now = now
        self.gateway = TestGateway()
        # day -> (step, what it needs) -> the contacts it concerns
        self.days: dict[int, dict[tuple[Step, tuple], list[int]]] = defaultdict(dict)
        self.grants: dict[tuple[int, str], int] = {}  # (contact, offer) -> grant
        self.subscriptions: dict[tuple[int, str], int] = {}  # (contact, offer) -> subscription
        self.due: dict[int, list[int]] = defaultdict(list)  # day -> subscriptions to charge

    def add(self, contact_id: int, customer: Customer) -> None:
        for move in customer.moves:
            self.days[move.ago].setdefault((move.step, move.key), []).append(contact_id)

    def replay(self, progress: Callable[[str], None]) -> None:
        """Run every day from the earliest step to today; `progress` hears every quarter."""
        handlers = {
            Step.CARD_DECLINES: self._card_declines,
            Step.GRANT: self._grant,
            Step.END_PAYMENTS: self._end_payments,
            Step.PAUSE_PAYMENTS: self._pause_payments,
            Step.SCHEDULE_CANCELLATION: self._schedule_cancellation,
            Step.REVOKE: self._revoke,
            Step.REVOKE_PRODUCT: self._revoke_product,
            Step.EXPIRY_SWEEP: self._expiry_sweep,
        }
        for ago in range(max(self.days, default=-1), -1, -1):
            moment = self.now - ago * DAY
            if ago % QUARTER == 0:
                progress(f"history up to {day_label(moment)}")
            steps = sorted(self.days.pop(ago, {}).items(), key=lambda item: item[0][0])
            charged = False
            for (step, key), contact_ids in steps:
                if step > Step.CHARGE and not charged:
                    self._charge(ago, moment)
                    charged = True
                handlers[step](key, contact_ids, moment)
            if not charged:
                self._charge(ago, moment)

    def _card_declines(self, key, contact_ids, moment) -> None:
        Contact.objects.filter(pk__in=contact_ids).update(test_card_declines=True)

    def _grant(self, key, contact_ids, moment) -> None:
        title, by = key
        offer = self.catalogue.offers[title]
        grants = grant_offer_to_contacts(
            offer=offer,
            contact_ids=contact_ids,
            actor=self.catalogue.actor(by),
            source=Grant.Source.PURCHASE if by == "customer" else Grant.Source.MANUAL,
            starts_at=moment,
            now=moment,
        )
        contact_of = {grant.pk: grant.contact_id for grant in grants}
        self.grants.update({(grant.contact_id, title): grant.pk for grant in grants})
        if offer.bills_repeatedly:
            billed = Subscription.objects.filter(grant_id__in=contact_of)
            for pk, grant_id in billed.values_list("pk", "grant_id"):
                self.subscriptions[(contact_of[grant_id], title)] = pk
                self.due[days_before(self.now, moment)].append(pk)

    def _charge(self, ago: int, moment: datetime) -> None:
        """The day's billing run, for these customers' subscriptions that are due."""
        due = self.due.pop(ago, None)
        if not due:
            return
        payments = charge_subscriptions(subscription_ids=due, gateway=self.gateway, now=moment)
        for payment in payments:
            sub = payment.subscription
            if payment.status == Payment.Status.SUCCEEDED and sub.next_billing_at is not None:
                if sub.next_billing_at <= self.now:
                    self.due[days_before(self.now, sub.next_billing_at)].append(sub.pk)

    def _subscriptions(self, title: str, contact_ids) -> list[Subscription]:
        ids = [self.subscriptions[(pk, title)] for pk in contact_ids]
        found = Subscription.objects.in_bulk(ids)
        return [found[pk] for pk in sorted(found)]

    def _end_payments(self, key, contact_ids, moment) -> None:
        (title,) = key
        end_subscriptions(
            subscription_ids=[self.subscriptions[(pk, title)] for pk in contact_ids],
            actor=self.catalogue.actor("customer"),
            now=moment,
        )

    def _pause_payments(self, key, contact_ids, moment) -> None:
        title, days = key
        until = timezone.localdate(self.now + days * DAY)
        for sub in self._subscriptions(title, contact_ids):
            pause_subscription(
                subscription=sub, actor=self.catalogue.actor("owner"), until=until, now=moment
            )

    def _schedule_cancellation(self, key, contact_ids, moment) -> None:
        (title,) = key
        for sub in self._subscriptions(title, contact_ids):
            cancel_subscription(
                subscription=sub,
                actor=self.catalogue.actor("customer"),
                when=CancelWhen.PERIOD_END,
                now=moment,
            )

    def _revoke(self, key, contact_ids, moment) -> None:
        title, by, reason = key
        revoke_grants(
            grant_ids=[self.grants[(pk, title)] for pk in contact_ids],
            actor=self.catalogue.actor(by),
            reason=reason,
            now=moment,
        )

    def _revoke_product(self, key, contact_ids, moment) -> None:
        title, product, by, reason = key
        ids = [self.grants[(pk, title)] for pk in contact_ids]
        grants = Grant.objects.select_related("contact", "offer").in_bulk(ids)
        for pk in sorted(grants):
            revoke_product(
                grant=grants[pk],
                product=self.catalogue.products[product],
                actor=self.catalogue.actor(by),
                reason=reason,
                now=moment,
            )

    def _expiry_sweep(self, key, contact_ids, moment) -> None:
        expire_grants(now=moment)
