"""The generated customers (customer000001@example.com and on) and the story of each.

A customer's story comes from a random generator seeded with their number, so the same
number always gets the same name, purchases, tags and progress. A story is a list of
steps, each on a whole day before now; `history` replays them through the services.
"""

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import IntEnum

from kajaccess.demo.catalogue import (
    BOOTCAMP,
    COACHING,
    LEGACY,
    LESSONS,
    TRIAL,
    VAULT,
    Catalogue,
)
from purchases.billing.services import next_billing_date

DAY = timedelta(days=1)

# How far back the generated customers joined.
HISTORY_DAYS = 730
# Purchases and grants fall on every seventh day back from today, so that each of those
# days costs one service call per Offer for all the customers it concerns; what follows
# them (revokes, pauses, cancellations, the billing dates) falls on any day.
WEEK = 7

FIRST_NAMES = (
    "Aisha Alex Amara Ana Andrea Arjun Ben Bianca Carlos Chen Chloe Daniel Diego Elena Emeka "
    "Emma Fatima Felix Gabriel Hana Hugo Ines Isaac Ivan Jamal Jana Jonas Julia Kai Karin Kofi "
    "Laila Lars Leo Lina Lucas Maya Mei Mateo Mia Nadia Nia Noah Olga Omar Paula Priya Rafael "
    "Ravi Rosa Sara Selin Sofia Tariq Tom Uma Valentina Wei Yara Yusuf Zoe"
).split()
LAST_NAMES = (
    "Abe Adeyemi Almeida Andersen Bauer Becker Costa Dubois Eriksen Fischer Garcia Gomez Hansen "
    "Ibrahim Ito Jensen Kaur Keller Kim Kowalski Larsen Lee Lopez Martin Meyer Moreau Nakamura "
    "Nguyen Novak Okafor Olsen Park Patel Perez Petrov Rossi Santos Schmidt Silva Singh Smith "
    "Suzuki Tanaka Torres Varga Wagner Walker Weber Wilson Yilmaz Zhang"
).split()

CREATOR_REASONS = [
    "Refund issued",
    "Chargeback",
    "Shared their login",
    "Duplicate purchase",
    "Moved to the next cohort",
    "",
]
SUPPORT_REASONS = ["Refund processed by support", "Customer asked to close their account"]
PRODUCT_REVOKE_REASONS = ["Partial refund", "Not part of their agreement", ""]
TEAM = ["owner", "team"]


class Step(IntEnum):
    """What happens on a day of a story, in the order the day runs them.

    CHARGE is the billing run of the day: the billing dates follow from the subscriptions
    themselves, so no story names them.
    """

    CARD_DECLINES = 0
    GRANT = 1
    END_PAYMENTS = 2
    CHARGE = 3
    PAUSE_PAYMENTS = 4
    SCHEDULE_CANCELLATION = 5
    REVOKE = 6
    REVOKE_PRODUCT = 7
    EXPIRY_SWEEP = 8


@dataclass(frozen=True)
class Move:
    ago: int  # days before now
    step: Step
    key: tuple = ()  # what the step needs besides the contact: an offer, an actor, a reason


@dataclass
class Customer:
    number: int
    name: str
    joined: int
    moves: list[Move] = field(default_factory=list)
    starts: dict[str, int] = field(default_factory=dict)  # offer: the day its grant started
    completions: list[tuple[str, int, int]] = field(default_factory=list)  # product, lesson, day
    tags: set[str] = field(default_factory=set)  # tags carry no date: they are added today
    card_declines: int | None = None
    last_active: int | None = None

    @property
    def email(self) -> str:
        return f"customer{self.number:06d}@example.com"

    def add(self, ago: int, step: Step, key: tuple = ()) -> None:
        self.moves.append(Move(ago, step, key))

    def grant(self, offer: str, ago: int, by: str = "customer") -> None:
        self.starts[offer] = ago
        self.add(ago, Step.GRANT, (offer, by))

    def revoke(self, offer: str, ago: int, by: str, reason: str = "") -> None:
        self.add(ago, Step.REVOKE, (offer, by, reason))

    def declines_from(self, ago: int) -> None:
        """From that day on, the test gateway declines every charge of this customer."""
        self.card_declines = ago
        self.add(ago, Step.CARD_DECLINES)


def days_before(now: datetime, moment: datetime) -> int:
    return round((now - moment) / DAY)


def since(r: random.Random, ago: int) -> int:
    """A random day between that day and today."""
    return r.randint(0, ago)


def week_since(r: random.Random, ago: int) -> int:
    """A random one of the weekly days between that day and today."""
    day = since(r, ago)
    return day - day % WEEK


class Storyteller:
    """Writes the stories of generated customers for the catalogue as it is now."""

    def __init__(self, catalogue: Catalogue, now: datetime):
        offers = catalogue.offers
        self.now = now
        self.trial_days = offers[TRIAL].access_days
        self.vault_interval = offers[VAULT].interval
        self.coaching_interval = offers[COACHING].interval
        self.installments = offers[COACHING].installments or 1
        legacy = offers.get(LEGACY)
        self.legacy_deleted = (
            days_before(now, legacy.deleted_at) if legacy and legacy.deleted_at else None
        )
        self.offer_products = {
            title: set(offer.products.values_list("title", flat=True))
            for title, offer in offers.items()
        }
        self.lessons = {title: len(catalogue.lessons[title]) for title in LESSONS}

    def billing_days(self, start: int, interval: str, limit: int | None = None) -> list[int]:
        """The billing dates from `start` up to now, as the billing run moves them on."""
        days, moment = [start], self.now - start * DAY
        while limit is None or len(days) < limit:
            moment = next_billing_date(moment, interval)
            if moment > self.now:
                break
            days.append(days_before(self.now, moment))
        return days

    def story(self, number: int) -> Customer:
        r = random.Random(number)
        joined = r.randint(1, HISTORY_DAYS)
        customer = Customer(number, f"{r.choice(FIRST_NAMES)} {r.choice(LAST_NAMES)}", joined)
        if r.random() < 0.08:
            customer.tags.add("VIP")
        # About one in twelve is a lead: on the list, nothing bought yet. The others
        # hold about three grants each, as customers of a catalogue like this one do.
        if r.random() >= 0.08:
            self._purchases(customer, r)
        self._progress(customer, r)
        if customer.starts:
            customer.last_active = since(r, min(customer.starts.values()))
        return customer

    def _purchases(self, customer: Customer, r: random.Random) -> None:
        after = customer.joined
        trial = r.random() < 0.65
        if trial:
            start = week_since(r, customer.joined)
            customer.grant(TRIAL, start, by="owner")
            if r.random() < 0.7:
                customer.tags.add("Trial")
            if self.trial_days and start >= self.trial_days:
                # The expiry sweep records the end on the day the trial ran out.
                after = start - self.trial_days
                customer.add(after, Step.EXPIRY_SWEEP)
        if r.random() < (0.85 if trial else 0.70):
            self._bootcamp(customer, r, week_since(r, after))
        vault_charges = []
        if r.random() < 0.70:
            vault_charges = self._vault(customer, r, week_since(r, customer.joined))
        if r.random() < 0.25:
            self._coaching(customer, r, week_since(r, customer.joined), vault_charges)
        deleted = self.legacy_deleted
        if deleted is not None and customer.joined > deleted and r.random() < 0.6:
            # Bought before the Legacy Bundle was deleted: the customer keeps its access.
            weeks = range(deleted - deleted % WEEK + WEEK, customer.joined + 1, WEEK)
            if weeks:
                customer.grant(LEGACY, r.choice(weeks))

    def _bootcamp(self, customer: Customer, r: random.Random, start: int) -> None:
        customer.grant(BOOTCAMP, start)
        roll = r.random()
        if roll >= 0.17 or start < WEEK:
            return
        # Refunds, chargebacks and requests to support come a week or more after the purchase.
        day = since(r, start - WEEK)
        if roll < 0.06:
            customer.revoke(BOOTCAMP, day, r.choice(TEAM), r.choice(CREATOR_REASONS))
        elif roll < 0.08:
            customer.revoke(BOOTCAMP, day, "support", r.choice(SUPPORT_REASONS))
        elif roll < 0.13:
            customer.tags.add("Refund requested")
            if r.random() < 0.8:
                customer.revoke(BOOTCAMP, day, "automation")
        else:
            product = ("Advanced Python", r.choice(TEAM), r.choice(PRODUCT_REVOKE_REASONS))
            customer.add(day, Step.REVOKE_PRODUCT, (BOOTCAMP, *product))

    def _vault(self, customer: Customer, r: random.Random, start: int) -> list[int]:
        """A membership's story; returns the days it is charged on."""
        customer.grant(VAULT, start)
        dates = self.billing_days(start, self.vault_interval)
        roll = r.random()
        if roll < 0.15 and len(dates) > 1:
            # Canceled at the end of a paid period: payments and access ended together.
            paid = r.randint(1, len(dates) - 1)
            customer.add(dates[paid], Step.END_PAYMENTS, (VAULT,))
            return dates[:paid]
        if roll < 0.23:
            customer.add(since(r, dates[-1]), Step.PAUSE_PAYMENTS, (VAULT, r.randint(5, 45)))
        elif roll < 0.30 and len(dates) > 1:
            # The last charge was declined; the billing run tries that date again.
            customer.declines_from(dates[-1])
        elif roll > 0.95:
            customer.add(since(r, dates[-1]), Step.SCHEDULE_CANCELLATION, (VAULT,))
        return dates

    def _coaching(self, customer: Customer, r: random.Random, start: int, vault_charges) -> None:
        customer.grant(COACHING, start)
        dates = self.billing_days(start, self.coaching_interval, limit=self.installments)
        if len(dates) > 1 and r.random() < 0.15:
            declined = dates[-1]
            # A declining card declines every later charge: only where the Vault Membership
            # takes no more payments by then, or it would go past due as well.
            if customer.card_declines is None and all(day > declined for day in vault_charges):
                customer.declines_from(declined)

    def _progress(self, customer: Customer, r: random.Random) -> None:
        for title in ("Python Basics", "Advanced Python"):
            held = [
                start
                for offer, start in customer.starts.items()
                if title in self.offer_products.get(offer, ())
            ]
            if not held:
                continue
            start = max(held)
            done = r.choice([0, 0, 1, 2, 3, 5, 5] if title == "Python Basics" else [0, 0, 1, 2, 4])
            customer.completions.extend(
                (title, lesson, since(r, start)) for lesson in range(min(done, self.lessons[title]))
            )
