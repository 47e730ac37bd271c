"""The named customers, each a story the README tells, and Other School."""

from datetime import datetime, timedelta
from decimal import Decimal

from contacts.models import Contact
from contacts.services import add_tag
from kajaccess.actors import Actor
from kajaccess.demo.catalogue import (
    BOOTCAMP,
    COACHING,
    LEGACY,
    TRIAL,
    VAULT,
    Catalogue,
    build_catalogue,
)
from kajaccess.models import Site, SiteMembership
from products.models import Lesson, Offer, Product
from products.services import complete_lesson
from purchases.access.services import expire_grants, grant_offer_to_contacts, revoke_grant
from purchases.billing.gateways import TestGateway
from purchases.billing.runs import charge_subscription
from purchases.models import Grant, Subscription
from purchases.offers.services import create_offer, delete_offer

DEMO_ACADEMY = "demo-academy"
OTHER_SCHOOL = "other-school"
DEMO_SITES = {DEMO_ACADEMY: "Demo Academy", OTHER_SCHOOL: "Other School"}

# The Legacy Bundle was retired this many days ago; customers who bought it keep access.
LEGACY_DELETED_DAYS_AGO = 200


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


def _academy(users: dict) -> Catalogue:
    site = Site.objects.create(name=DEMO_SITES[DEMO_ACADEMY], slug=DEMO_ACADEMY)
    owner, team = users["creator@example.com"], users["team@example.com"]
    SiteMembership.objects.create(site=site, user=owner, role=SiteMembership.Role.OWNER)
    SiteMembership.objects.create(site=site, user=team, role=SiteMembership.Role.ASSISTANT)
    # A contractor on two sites, with another role on each.
    SiteMembership.objects.create(
        site=site, user=users["va@example.com"], role=SiteMembership.Role.SUPPORT
    )
    return build_catalogue(site, owner, team, users["support@example.com"])


def build_demo_academy(users: dict, now: datetime) -> Catalogue:
    catalogue = _academy(users)
    site = catalogue.site
    creator = Actor.creator(catalogue.owner, role=SiteMembership.Role.OWNER)
    purchase = Grant.Source.PURCHASE

    def days(n: int) -> datetime:
        return now - timedelta(days=n)

    def contact(email, name, joined, user=None):
        return Contact.objects.create(
            site=site, email=email, name=name, user=user, created_at=joined
        )

    ada = contact("ada@example.com", "Ada Lovelace", days(120), users["ada@example.com"])
    she = Actor.customer(ada.user)
    _grant(catalogue, ada, BOOTCAMP, she, source=purchase, starts_at=days(90))
    vault = _grant(catalogue, ada, VAULT, she, source=purchase, starts_at=days(75))
    _bill(vault.subscription, now)
    for i, lesson in enumerate(catalogue.lessons["Python Basics"][:3]):
        complete_lesson(contact=ada, lesson=lesson, now=days(80 - 10 * i))
    add_tag(tag=catalogue.tags["VIP"], contact_ids=[ada.pk], actor=creator)

    grace = contact("grace@example.com", "Grace Hopper", days(60))
    anyone = Actor.customer(None)
    _grant(catalogue, grace, BOOTCAMP, anyone, source=purchase, starts_at=days(55))
    plan = _grant(catalogue, grace, COACHING, anyone, source=purchase, starts_at=days(20))
    _bill(plan.subscription, now)

    alan = contact("alan@example.com", "Alan Turing", days(45))
    trial = _grant(catalogue, alan, TRIAL, creator, starts_at=days(40))
    add_tag(tag=catalogue.tags["Trial"], contact_ids=[alan.pk], actor=creator)
    # The expiry sweep, as it ran on the day the trial ended.
    expire_grants(now=trial.expires_at)

    katherine = contact("katherine@example.com", "Katherine Johnson", days(420))
    _grant(catalogue, katherine, LEGACY, anyone, source=purchase, starts_at=days(400))
    delete_offer(offer=catalogue.offers[LEGACY], actor=creator, now=days(LEGACY_DELETED_DAYS_AGO))

    edsger = contact("edsger@example.com", "Edsger Dijkstra", days(100))
    membership = _grant(catalogue, edsger, VAULT, anyone, source=purchase, starts_at=days(95))
    _bill(membership.subscription, now)
    revoke_grant(
        grant=membership,
        actor=Actor.creator(catalogue.team, role=SiteMembership.Role.ASSISTANT),
        reason="Chargeback",
    )
    # Everyone in these stories was in today: the Contacts tab lists them as active now.
    site.contacts.update(last_activity_at=now)
    return catalogue


def build_other_school(users: dict, now: datetime) -> None:
    site = Site.objects.create(name=DEMO_SITES[OTHER_SCHOOL], slug=OTHER_SCHOOL)
    owner = users["other@example.com"]
    SiteMembership.objects.create(site=site, user=owner, role=SiteMembership.Role.OWNER)
    SiteMembership.objects.create(
        site=site, user=users["va@example.com"], role=SiteMembership.Role.ASSISTANT
    )
    course = Product.objects.create(site=site, title="Watercolour Basics")
    Lesson.objects.bulk_create(
        Lesson(product=course, title=title, position=i)
        for i, title in enumerate(["Brushes and paper", "Washes", "Layering"], start=1)
    )
    offer = create_offer(
        site=site,
        actor=Actor.creator(owner, role=SiteMembership.Role.OWNER),
        title="Watercolour Course",
        products=[course],
        price=Decimal("89"),
        payment_type=Offer.PaymentType.ONE_TIME,
    ).obj
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
