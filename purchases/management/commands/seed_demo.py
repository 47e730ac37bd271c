"""The demo data: two schools, their team, support staff and customers in every state.

    python manage.py seed_demo               # the named demo content and 200 generated contacts
    python manage.py seed_demo --contacts N  # make sure N generated contacts exist
    python manage.py seed_demo --reset       # delete the demo schools and logins, then rebuild

Running it again creates nothing twice. The named contacts are made through the access
services, so their audit trail is real; the generated contacts (customer000001@example.com
and on) are written with bulk inserts so that a hundred thousand of them load in minutes.
Each generated contact's data comes from a random generator seeded with its number, so
the same number always gets the same name, purchases, tags and progress.
"""

import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from contacts.models import Contact, ContactTag, Tag
from contacts.services import add_tag, tag_get_or_create
from kajaccess.actors import Actor, ActorKind
from kajaccess.models import Site, SiteMembership
from products.models import Lesson, LessonCompletion, Offer, Product
from purchases.access.services import expire_grants, grant_offer_to_contacts, revoke_grant
from purchases.billing.gateways import TestGateway
from purchases.billing.runs import charge_subscription
from purchases.billing.services import next_billing_date
from purchases.models import (
    AccessEvent,
    AccessStatus,
    Grant,
    Payment,
    ProductAccess,
    Purchase,
    RevokedVia,
    Subscription,
)

PASSWORD = "kajaccess-demo"
DEMO_ACADEMY = "demo-academy"
OTHER_SCHOOL = "other-school"
DEMO_SITES = {DEMO_ACADEMY: "Demo Academy", OTHER_SCHOOL: "Other School"}

# email: (first name, last name, is_staff)
DEMO_USERS = {
    "creator@example.com": ("Casey", "Creator", False),
    "team@example.com": ("Taylor", "Team", False),
    "support@example.com": ("Sam", "Support", True),
    "ada@example.com": ("Ada", "Lovelace", False),
    "other@example.com": ("Olive", "Other", False),
}

SUPPORT_GROUP = "Support team"
# What the support admin needs: read everything, change what the admin lets them change.
SUPPORT_PERMISSIONS = {
    "kajaccess": {"site": "view", "sitemembership": "view"},
    "auth": {"user": "view"},
    "contacts": {"contact": "view change", "tag": "view", "contacttag": "view"},
    "products": {"product": "view", "lesson": "view", "offer": "view", "lessoncompletion": "view"},
    "purchases": {
        "grant": "view change",
        "productaccess": "view",
        "purchase": "view",
        "subscription": "view change",
        "payment": "view",
        "accessevent": "view",
        "automation": "view",
        "bulkaction": "view",
    },
}

LESSONS = {
    "Python Basics": [
        "Installing Python",
        "Values and variables",
        "Making decisions",
        "Loops",
        "Functions",
    ],
    "Advanced Python": [
        "Iterators and generators",
        "Decorators",
        "Context managers",
        "Concurrency",
    ],
}

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

TAG_NAMES = ["VIP", "Trial", "Refund requested"]

BATCH = 1000

# The Legacy Bundle was retired this many days ago; customers who bought it keep access.
LEGACY_DELETED_DAYS_AGO = 200


def billing_dates(start: datetime, now: datetime, limit: int | None = None) -> list[datetime]:
    """The monthly billing dates from `start` up to now, as the billing run keeps them."""
    dates = [start]
    while (limit is None or len(dates) < limit) and next_billing_date(dates[-1], "month") <= now:
        dates.append(next_billing_date(dates[-1], "month"))
    return dates


# --- Catalogue and logins --------------------------------------------------------------


@dataclass
class Catalogue:
    site: Site
    owner: object
    team: object
    products: dict[str, Product]
    lessons: dict[str, list[Lesson]]
    offers: dict[str, Offer]
    tags: dict[str, Tag]
    support: object = None
    offer_products: dict[str, list[Product]] = field(default_factory=dict)

    def __post_init__(self):
        # Read once, so that generating a grant runs no query.
        self.offer_products = {
            title: list(offer.products.order_by("pk")) for title, offer in self.offers.items()
        }


def ensure_users() -> dict[str, object]:
    User = get_user_model()
    users = {}
    for email, (first, last, is_staff) in DEMO_USERS.items():
        user = User.objects.filter(username=email).first()
        if user is None:
            user = User(username=email, email=email, first_name=first, last_name=last)
            user.is_staff = is_staff
            user.set_password(PASSWORD)
            user.save()
        users[email] = user
    support = users["support@example.com"]
    group, _ = Group.objects.get_or_create(name=SUPPORT_GROUP)
    wanted = Q(pk__in=[])
    for app, models in SUPPORT_PERMISSIONS.items():
        for model, actions in models.items():
            codenames = [f"{action}_{model}" for action in actions.split()]
            wanted |= Q(content_type__app_label=app, codename__in=codenames)
    group.permissions.set(Permission.objects.filter(wanted))
    support.groups.add(group)
    return users


def build_catalogue(site: Site, owner, team, support) -> Catalogue:
    products = {
        "Python Basics": Product(site=site, title="Python Basics", kind=Product.Kind.COURSE),
        "Advanced Python": Product(site=site, title="Advanced Python", kind=Product.Kind.COURSE),
        "Community Vault": Product(site=site, title="Community Vault", kind=Product.Kind.COMMUNITY),
        "Coaching Calls": Product(site=site, title="Coaching Calls", kind=Product.Kind.COACHING),
    }
    Product.objects.bulk_create(products.values())
    lessons = {
        title: Lesson.objects.bulk_create(
            Lesson(product=products[title], title=lesson, position=i, body=f"{lesson}.")
            for i, lesson in enumerate(names, start=1)
        )
        for title, names in LESSONS.items()
    }
    offers = {}
    for title, fields, product_titles in [
        (
            "Python Bootcamp",
            {"price": Decimal("299"), "payment_type": Offer.PaymentType.ONE_TIME},
            ["Python Basics", "Advanced Python"],
        ),
        (
            "Vault Membership",
            {"price": Decimal("29"), "payment_type": Offer.PaymentType.SUBSCRIPTION},
            ["Community Vault"],
        ),
        (
            "Coaching Plan",
            {
                "price": Decimal("150"),
                "payment_type": Offer.PaymentType.PAYMENT_PLAN,
                "installments": 3,
            },
            ["Coaching Calls"],
        ),
        (
            "30-Day Trial",
            {"price": Decimal("0"), "payment_type": Offer.PaymentType.FREE, "access_days": 30},
            ["Python Basics"],
        ),
        (
            "Legacy Bundle",
            {"price": Decimal("149"), "payment_type": Offer.PaymentType.ONE_TIME},
            ["Advanced Python"],
        ),
    ]:
        offer = Offer.objects.create(site=site, title=title, currency="USD", **fields)
        offer.products.set([products[p] for p in product_titles])
        offers[title] = offer
    tags = {name: tag_get_or_create(site=site, name=name) for name in TAG_NAMES}
    return Catalogue(site, owner, team, products, lessons, offers, tags, support)


OFFER_TITLES = ["Python Bootcamp", "Vault Membership", "Coaching Plan", "30-Day Trial"]


def load_catalogue(site: Site) -> Catalogue:
    """The catalogue of an existing Demo Academy, for adding generated contacts to it."""
    memberships = {m.role: m.user for m in site.memberships.select_related("user")}
    support = get_user_model().objects.filter(username="support@example.com").first()
    products = {p.title: p for p in site.products.all()}
    offers = {o.title: o for o in site.offers.all()}
    gone = [t for t in [*LESSONS, *OFFER_TITLES] if t not in products and t not in offers]
    if gone:
        raise CommandError(
            f"Demo Academy no longer has {', '.join(gone)}, so no contacts can be generated "
            "for it. Run seed_demo --reset to rebuild the demo."
        )
    lessons = {title: list(products[title].lessons.order_by("position")) for title in LESSONS}
    tags = {name: tag_get_or_create(site=site, name=name) for name in TAG_NAMES}
    return Catalogue(
        site,
        memberships.get(SiteMembership.Role.OWNER),
        memberships.get(SiteMembership.Role.ASSISTANT),
        products,
        lessons,
        offers,
        tags,
        support,
    )


# --- The named contacts ----------------------------------------------------------------


def _grant(catalogue: Catalogue, contact: Contact, offer_title: str, actor: Actor, **kwargs):
    """Grant through the service, its event dated when the grant started."""
    starts_at = kwargs.pop("starts_at")
    (grant,) = grant_offer_to_contacts(
        offer=catalogue.offers[offer_title],
        contact_ids=[contact.pk],
        actor=actor,
        starts_at=starts_at,
        now=starts_at,
        **kwargs,
    )
    return grant


def _bill(subscription: Subscription, now: datetime) -> None:
    """Charge every billing date up to now through the billing service, as the runs did."""
    gateway = TestGateway()
    subscription.refresh_from_db()
    while subscription.next_billing_at is not None and subscription.next_billing_at <= now:
        charge_subscription(
            subscription=subscription, gateway=gateway, now=subscription.next_billing_at
        )
        subscription.refresh_from_db()


def build_demo_academy(users: dict, now: datetime) -> Catalogue:
    site = Site.objects.create(name=DEMO_SITES[DEMO_ACADEMY], slug=DEMO_ACADEMY)
    owner, team = users["creator@example.com"], users["team@example.com"]
    SiteMembership.objects.create(site=site, user=owner, role=SiteMembership.Role.OWNER)
    SiteMembership.objects.create(site=site, user=team, role=SiteMembership.Role.ASSISTANT)
    catalogue = build_catalogue(site, owner, team, users["support@example.com"])
    creator = Actor.creator(owner, role=SiteMembership.Role.OWNER)

    def days(n: int) -> datetime:
        return now - timedelta(days=n)

    def contact(email, name, joined, user=None):
        return Contact.objects.create(
            site=site, email=email, name=name, user=user, created_at=joined, last_activity_at=now
        )

    purchase = Grant.Source.PURCHASE

    ada = contact("ada@example.com", "Ada Lovelace", days(120), users["ada@example.com"])
    _grant(
        catalogue,
        ada,
        "Python Bootcamp",
        Actor.customer(ada.user),
        source=purchase,
        starts_at=days(90),
    )
    vault = _grant(
        catalogue,
        ada,
        "Vault Membership",
        Actor.customer(ada.user),
        source=purchase,
        starts_at=days(75),
    )
    _bill(vault.subscription, now)
    LessonCompletion.objects.bulk_create(
        LessonCompletion(contact=ada, lesson=lesson, completed_at=days(80 - 10 * i))
        for i, lesson in enumerate(catalogue.lessons["Python Basics"][:3])
    )
    add_tag(tag=catalogue.tags["VIP"], contact_ids=[ada.pk], actor=creator)

    grace = contact("grace@example.com", "Grace Hopper", days(60))
    _grant(
        catalogue,
        grace,
        "Python Bootcamp",
        Actor.customer(None),
        source=purchase,
        starts_at=days(55),
    )
    plan = _grant(
        catalogue, grace, "Coaching Plan", Actor.customer(None), source=purchase, starts_at=days(20)
    )
    _bill(plan.subscription, now)

    alan = contact("alan@example.com", "Alan Turing", days(45))
    trial = _grant(catalogue, alan, "30-Day Trial", creator, starts_at=days(40))
    add_tag(tag=catalogue.tags["Trial"], contact_ids=[alan.pk], actor=creator)
    # The expiry sweep, as it ran on the day the trial ended.
    expire_grants(now=trial.expires_at)

    katherine = contact("katherine@example.com", "Katherine Johnson", days(420))
    _grant(
        catalogue,
        katherine,
        "Legacy Bundle",
        Actor.customer(None),
        source=purchase,
        starts_at=days(400),
    )
    legacy = catalogue.offers["Legacy Bundle"]
    legacy.deleted_at = days(LEGACY_DELETED_DAYS_AGO)
    legacy.save(update_fields=["deleted_at"])

    edsger = contact("edsger@example.com", "Edsger Dijkstra", days(100))
    membership = _grant(
        catalogue,
        edsger,
        "Vault Membership",
        Actor.customer(None),
        source=purchase,
        starts_at=days(95),
    )
    _bill(membership.subscription, now)
    revoke_grant(
        grant=membership,
        actor=Actor.creator(team, role=SiteMembership.Role.ASSISTANT),
        reason="Chargeback",
    )
    return catalogue


def build_other_school(users: dict, now: datetime) -> None:
    site = Site.objects.create(name=DEMO_SITES[OTHER_SCHOOL], slug=OTHER_SCHOOL)
    owner = users["other@example.com"]
    SiteMembership.objects.create(site=site, user=owner, role=SiteMembership.Role.OWNER)
    course = Product.objects.create(site=site, title="Watercolour Basics")
    Lesson.objects.bulk_create(
        Lesson(product=course, title=title, position=i)
        for i, title in enumerate(["Brushes and paper", "Washes", "Layering"], start=1)
    )
    offer = Offer.objects.create(
        site=site, title="Watercolour Course", price=Decimal("89"), currency="USD"
    )
    offer.products.set([course])
    contacts = Contact.objects.bulk_create(
        Contact(site=site, email=email, name=name, created_at=now - timedelta(days=d))
        for email, name, d in [
            ("ada@other.example", "Ada Lovelace", 30),
            ("mary@other.example", "Mary Somerville", 20),
            ("charles@other.example", "Charles Babbage", 10),
        ]
    )
    grant_offer_to_contacts(
        offer=offer,
        contact_ids=[c.pk for c in contacts[:2]],
        actor=Actor.customer(None),
        source=Grant.Source.PURCHASE,
        starts_at=now - timedelta(days=9),
        now=now - timedelta(days=9),
    )


# --- Generated contacts ----------------------------------------------------------------


@dataclass
class Batch:
    """The rows of a batch of generated contacts, written table by table."""

    contacts: list = field(default_factory=list)
    grants: list = field(default_factory=list)
    accesses: list = field(default_factory=list)
    purchases: list = field(default_factory=list)
    subscriptions: list = field(default_factory=list)
    payments: list = field(default_factory=list)
    events: list = field(default_factory=list)
    completions: list = field(default_factory=list)
    tags: list = field(default_factory=list)

    def save(self) -> None:
        with transaction.atomic():
            for rows in (
                self.contacts,
                self.grants,
                self.accesses,
                self.purchases,
                self.subscriptions,
                self.payments,
                self.events,
                self.completions,
                self.tags,
            ):
                if rows:
                    type(rows[0]).objects.bulk_create(rows, batch_size=BATCH)


class CustomerMaker:
    """Makes one generated contact's rows: who they are, what they bought, what happened."""

    def __init__(self, catalogue: Catalogue, now: datetime, batch: Batch):
        self.c = catalogue
        self.now = now
        self.batch = batch

    def event(self, kind, grant, at, actor_kind, actor=None, product=None, reason="", **details):
        self.batch.events.append(
            AccessEvent(
                site=self.c.site,
                contact=grant.contact,
                grant=grant,
                product=product,
                kind=kind,
                actor=actor,
                actor_kind=actor_kind,
                actor_role=self.role_of(actor),
                reason=reason,
                at=at,
                details=details,
            )
        )

    def grant(self, contact, title, source, starts_at, actor_kind, actor=None):
        offer = self.c.offers[title]
        expires_at = starts_at + timedelta(days=offer.access_days) if offer.access_days else None
        grant = Grant(
            site=self.c.site,
            contact=contact,
            offer=offer,
            source=source,
            granted_by=actor,
            starts_at=starts_at,
            expires_at=expires_at,
            created_at=starts_at,
        )
        grant.access_by_title = {}
        self.batch.grants.append(grant)
        for product in self.c.offer_products[title]:
            access = ProductAccess(grant=grant, product=product)
            grant.access_by_title[product.title] = access
            self.batch.accesses.append(access)
        self.event(
            AccessEvent.Kind.GRANTED,
            grant,
            starts_at,
            actor_kind,
            actor,
            offer=offer.title,
            source=source,
            expires_at=expires_at.isoformat() if expires_at else None,
        )
        return grant

    def revoke(self, grant, at, via, actor=None, reason=""):
        grant.status = AccessStatus.REVOKED
        grant.revoked_at = at
        grant.revoked_by = actor
        grant.revoked_via = via
        grant.revoke_reason = reason
        self.event(
            AccessEvent.Kind.REVOKED,
            grant,
            at,
            via,
            actor,
            reason=reason,
            status=["active", "revoked"],
            revoked_via=via,
        )

    def revoke_product(self, grant, title, at, actor, reason):
        access = grant.access_by_title[title]
        access.status = AccessStatus.REVOKED
        access.revoked_at = at
        access.revoked_by = actor
        access.revoked_via = RevokedVia.CREATOR
        access.revoke_reason = reason
        self.event(
            AccessEvent.Kind.PRODUCT_REVOKED,
            grant,
            at,
            ActorKind.CREATOR,
            actor,
            product=access.product,
            reason=reason,
            status=["active", "revoked"],
            revoked_via=RevokedVia.CREATOR,
        )

    def payment(self, subscription, due, status=Payment.Status.SUCCEEDED):
        self.batch.payments.append(
            Payment(
                subscription=subscription,
                amount=subscription.amount,
                currency=subscription.currency,
                status=status,
                due_at=due,
                at=due,
            )
        )
        kind = (
            AccessEvent.Kind.PAYMENT_SUCCEEDED
            if status == Payment.Status.SUCCEEDED
            else AccessEvent.Kind.PAYMENT_FAILED
        )
        self.event(
            kind,
            subscription.grant,
            due,
            ActorKind.SYSTEM,
            amount=str(subscription.amount),
            currency=subscription.currency,
        )

    def subscription(self, grant, **fields):
        offer = grant.offer
        subscription = Subscription(
            grant=grant,
            interval=offer.interval,
            amount=offer.price,
            currency=offer.currency,
            created_at=grant.starts_at,
            **fields,
        )
        self.batch.subscriptions.append(subscription)
        return subscription

    def since(self, start: datetime) -> datetime:
        """A random moment between `start` and now."""
        return start + (self.now - start) * self.r.random()

    def team_member(self):
        return self.r.choice([self.c.owner, self.c.team])

    def role_of(self, user) -> str:
        if user is not None and user == self.c.owner:
            return SiteMembership.Role.OWNER
        if user is not None and user == self.c.team:
            return SiteMembership.Role.ASSISTANT
        return ""

    def make(self, number: int) -> None:
        self.r = r = random.Random(number)
        now, c = self.now, self.c
        joined = now - timedelta(days=r.uniform(1, 730))
        contact = Contact(
            site=c.site,
            email=f"customer{number:06d}@example.com",
            name=f"{r.choice(FIRST_NAMES)} {r.choice(LAST_NAMES)}",
            created_at=joined,
        )
        self.batch.contacts.append(contact)
        tags = {"VIP"} if r.random() < 0.08 else set()
        grants = []
        # About one in twelve is a lead: on the list, nothing bought yet. The others
        # hold about three grants each, as customers of a catalogue like this one do.
        if r.random() >= 0.08:
            trial = None
            if r.random() < 0.65:
                trial = self.grant(
                    contact,
                    "30-Day Trial",
                    Grant.Source.MANUAL,
                    self.since(joined),
                    ActorKind.CREATOR,
                    c.owner,
                )
                grants.append(trial)
                if r.random() < 0.7:
                    tags.add("Trial")
                if trial.expires_at <= now:
                    self.revoke(trial, trial.expires_at, RevokedVia.EXPIRY)
            if r.random() < (0.85 if trial else 0.70):
                after = trial.expires_at if trial and trial.expires_at < now else joined
                grants.append(self.make_bootcamp(contact, self.since(after), tags))
            if r.random() < 0.70:
                grants.append(self.make_vault(contact, self.since(joined), r))
            if r.random() < 0.25:
                grants.append(self.make_coaching(contact, self.since(joined), r))
            legacy = c.offers["Legacy Bundle"]
            if legacy.deleted_at and joined < legacy.deleted_at and r.random() < 0.6:
                bought = joined + (legacy.deleted_at - joined) * r.random()
                grants.append(self.make_legacy(contact, bought))

        for title in ("Python Basics", "Advanced Python"):
            held = [g for g in grants if title in g.access_by_title]
            if not held:
                continue
            start = min(g.starts_at for g in held)
            done = r.choice([0, 0, 1, 2, 3, 5, 5] if title == "Python Basics" else [0, 0, 1, 2, 4])
            self.batch.completions.extend(
                LessonCompletion(contact=contact, lesson=lesson, completed_at=self.since(start))
                for lesson in c.lessons[title][:done]
            )
        if grants:
            contact.last_activity_at = self.since(max(g.starts_at for g in grants))
        self.batch.tags.extend(
            ContactTag(contact=contact, tag=c.tags[name], added_at=self.since(joined))
            for name in sorted(tags)
        )

    def make_legacy(self, contact, starts_at):
        """Bought before the Legacy Bundle was deleted: the customer keeps its access."""
        grant = self.grant(
            contact, "Legacy Bundle", Grant.Source.PURCHASE, starts_at, ActorKind.CUSTOMER
        )
        self.batch.purchases.append(
            Purchase(
                grant=grant,
                amount=grant.offer.price,
                currency=grant.offer.currency,
                purchased_at=starts_at,
            )
        )
        return grant

    def make_bootcamp(self, contact, starts_at, tags):
        r = self.r
        grant = self.grant(
            contact, "Python Bootcamp", Grant.Source.PURCHASE, starts_at, ActorKind.CUSTOMER
        )
        self.batch.purchases.append(
            Purchase(
                grant=grant,
                amount=grant.offer.price,
                currency=grant.offer.currency,
                purchased_at=starts_at,
            )
        )
        roll = r.random()
        if roll < 0.06:
            reason = r.choice(CREATOR_REASONS)
            self.revoke(
                grant, self.since(starts_at), RevokedVia.CREATOR, self.team_member(), reason
            )
        elif roll < 0.08:
            reason = r.choice(SUPPORT_REASONS)
            self.revoke(grant, self.since(starts_at), RevokedVia.SUPPORT, self.c.support, reason)
        elif roll < 0.13:
            tags.add("Refund requested")
            if r.random() < 0.8:
                self.revoke(grant, self.since(starts_at), RevokedVia.AUTOMATION)
        elif roll < 0.17:
            reason = r.choice(PRODUCT_REVOKE_REASONS)
            self.revoke_product(
                grant, "Advanced Python", self.since(starts_at), self.team_member(), reason
            )
        return grant

    def make_vault(self, contact, starts_at, r):
        now, owner = self.now, self.c.owner
        grant = self.grant(
            contact, "Vault Membership", Grant.Source.PURCHASE, starts_at, ActorKind.CUSTOMER
        )
        dates = billing_dates(starts_at, now)
        following = next_billing_date(dates[-1], "month")
        roll = r.random()
        if roll < 0.15 and len(dates) > 1:
            # Canceled at the end of a paid period: payments and access ended together.
            paid = r.randint(1, len(dates) - 1)
            ended = dates[paid]
            subscription = self.subscription(
                grant,
                status=Subscription.Status.CANCELED,
                installments_paid=paid,
                canceled_at=ended,
                cancel_at=ended,
            )
            self.event(AccessEvent.Kind.SUBSCRIPTION_CANCELED, grant, ended, ActorKind.CUSTOMER)
            self.revoke(grant, ended, RevokedVia.CANCELLATION, reason="Subscription canceled")
        elif roll < 0.23:
            paid = len(dates)
            subscription = self.subscription(
                grant,
                status=Subscription.Status.PAUSED,
                installments_paid=paid,
                next_billing_at=following,
                paused_until=now + timedelta(days=r.randint(5, 45)),
            )
            paused = self.since(dates[-1])
            self.event(
                AccessEvent.Kind.SUBSCRIPTION_PAUSED, grant, paused, ActorKind.CREATOR, owner
            )
        elif roll < 0.30 and len(dates) > 1:
            # The last charge was declined; the billing run tries that date again.
            contact.test_card_declines = True
            paid = len(dates) - 1
            subscription = self.subscription(
                grant,
                status=Subscription.Status.PAST_DUE,
                installments_paid=paid,
                next_billing_at=dates[-1],
            )
            self.payment(subscription, dates[-1], Payment.Status.FAILED)
        else:
            paid = len(dates)
            subscription = self.subscription(
                grant, installments_paid=paid, next_billing_at=following
            )
            if roll > 0.95:
                subscription.cancel_at = following
                scheduled = self.since(dates[-1])
                self.event(
                    AccessEvent.Kind.CANCELLATION_SCHEDULED, grant, scheduled, ActorKind.CUSTOMER
                )
        # The last few payments are enough history for the demo.
        for due in dates[max(0, paid - 3) : paid]:
            self.payment(subscription, due)
        return grant

    def make_coaching(self, contact, starts_at, r):
        grant = self.grant(
            contact, "Coaching Plan", Grant.Source.PURCHASE, starts_at, ActorKind.CUSTOMER
        )
        total = grant.offer.installments
        dates = billing_dates(starts_at, self.now, limit=total)
        plan = {"installments_total": total}
        if len(dates) > 1 and r.random() < 0.15:
            contact.test_card_declines = True
            paid = len(dates) - 1
            subscription = self.subscription(
                grant,
                status=Subscription.Status.PAST_DUE,
                installments_paid=paid,
                next_billing_at=dates[-1],
                **plan,
            )
            self.payment(subscription, dates[-1], Payment.Status.FAILED)
        elif len(dates) == total:
            paid = total
            subscription = self.subscription(
                grant, status=Subscription.Status.COMPLETED, installments_paid=paid, **plan
            )
            self.event(AccessEvent.Kind.PLAN_COMPLETED, grant, dates[-1], ActorKind.SYSTEM)
        else:
            paid = len(dates)
            subscription = self.subscription(
                grant,
                installments_paid=paid,
                next_billing_at=next_billing_date(dates[-1], "month"),
                **plan,
            )
        for due in dates[:paid]:
            self.payment(subscription, due)
        return grant


def missing_contacts(site: Site, wanted: int) -> list[int]:
    """The numbers 1..wanted of generated contacts that do not exist yet."""
    existing = set(
        Contact.objects.filter(
            site=site, email__startswith="customer", email__endswith="@example.com"
        ).values_list("email", flat=True)
    )
    return [n for n in range(1, wanted + 1) if f"customer{n:06d}@example.com" not in existing]


def add_generated_contacts(catalogue: Catalogue, missing: list[int], now: datetime, report):
    """Create the generated contacts of these numbers, in batches of one transaction each."""
    started = time.monotonic()
    for i in range(0, len(missing), BATCH):
        batch = Batch()
        maker = CustomerMaker(catalogue, now, batch)
        for number in missing[i : i + BATCH]:
            maker.make(number)
        batch.save()
        done = min(i + BATCH, len(missing))
        if done % 10_000 == 0 or done == len(missing):
            report(f"  {done:,} of {len(missing):,} contacts ({time.monotonic() - started:.0f} s)")


# --- Reset -------------------------------------------------------------------------------


def delete_demo() -> None:
    """Delete the demo schools with everything in them, and the demo logins."""
    sites = Site.objects.filter(slug__in=DEMO_SITES)
    with transaction.atomic():
        # Leaves first: each of these is one DELETE, whatever the number of rows.
        AccessEvent.objects.filter(site__in=sites).delete()
        Payment.objects.filter(subscription__grant__site__in=sites).delete()
        Subscription.objects.filter(grant__site__in=sites).delete()
        Purchase.objects.filter(grant__site__in=sites).delete()
        ProductAccess.objects.filter(grant__site__in=sites).delete()
        Grant.objects.filter(site__in=sites).delete()
        LessonCompletion.objects.filter(contact__site__in=sites).delete()
        ContactTag.objects.filter(contact__site__in=sites).delete()
        Contact.objects.filter(site__in=sites).delete()
        sites.delete()
        get_user_model().objects.filter(username__in=DEMO_USERS).delete()


class Command(BaseCommand):
    help = "Load the demo schools, logins and customers (re-runnable; --reset rebuilds)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--contacts",
            type=int,
            default=200,
            help="How many generated contacts Demo Academy has (default 200).",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete the demo schools and logins first, then build them again.",
        )

    def handle(self, *args, contacts: int, reset: bool, **options):
        if contacts < 0:
            raise CommandError("--contacts cannot be negative.")
        if reset:
            delete_demo()
            self.stdout.write("Deleted the demo schools and logins.")
        now = timezone.now()
        catalogue = None
        with transaction.atomic():
            users = ensure_users()
            academy = Site.objects.filter(slug=DEMO_ACADEMY).first()
            if academy is None:
                catalogue = build_demo_academy(users, now)
                academy = catalogue.site
                self.stdout.write("Created Demo Academy with its named customers.")
            if not Site.objects.filter(slug=OTHER_SCHOOL).exists():
                build_other_school(users, now)
                self.stdout.write("Created Other School.")
        started = time.monotonic()
        missing = missing_contacts(academy, contacts)
        if missing:
            catalogue = catalogue or load_catalogue(academy)
            add_generated_contacts(catalogue, missing, now, self.stdout.write)
        added = len(missing)
        if added:
            # Fresh statistics let the query planner pick the right indexes at any size.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        total = Contact.objects.filter(site=academy).count()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: Demo Academy has {total:,} contacts "
                f"({added:,} added in {time.monotonic() - started:.1f} s). "
                f"Every demo login's password is {PASSWORD}."
            )
        )
