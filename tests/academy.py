"""A small school for the dashboard's tests, made through the access services.

Ada Lovelace bought Python Bootcamp (Python Basics, 3 of its 5 lessons done, and
Advanced Python, 4 lessons) and subscribes to Vault Membership (29.00 USD a month).
Grace Hopper has no products. Other School is another site with its own Ada.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from contacts.models import Contact
from kajaccess.actors import Actor
from products.models import LessonCompletion, Offer, Product
from purchases.access import services
from purchases.access.facts import refresh_access_facts
from purchases.models import Grant
from tests.factories import (
    ContactFactory,
    MembershipFactory,
    OfferFactory,
    ProductFactory,
    TagFactory,
    UserFactory,
)


@dataclass
class Academy:
    site: object
    creator: object
    ada: Contact
    grace: Contact
    basics: Product
    advanced: Product
    vault: Product
    bootcamp: Offer
    membership: Offer
    bootcamp_grant: Grant
    vault_grant: Grant
    other_member: object
    other_ada: Contact
    other_product: Product
    other_grant: Grant


def build_academy() -> Academy:
    creator = UserFactory(email="creator@example.com")
    site = MembershipFactory(user=creator, site__name="Demo Academy", site__slug="demo").site
    basics = ProductFactory(site=site, title="Python Basics", lessons=5)
    advanced = ProductFactory(site=site, title="Advanced Python", lessons=4)
    vault = ProductFactory(site=site, title="The Vault", lessons=2)
    bootcamp = OfferFactory(site=site, title="Python Bootcamp", price=Decimal("299.00"))
    bootcamp.products.set([basics, advanced])
    membership = OfferFactory(
        site=site,
        title="Vault Membership",
        price=Decimal("29.00"),
        payment_type=Offer.PaymentType.SUBSCRIPTION,
    )
    membership.products.set([vault])
    ada = ContactFactory(
        site=site,
        name="Ada Lovelace",
        email="ada@example.com",
        user=UserFactory(email="ada@example.com"),
    )
    ada.tags.add(TagFactory(site=site, name="VIP"))
    grace = ContactFactory(site=site, name="Grace Hopper", email="grace@example.com")
    actor = Actor.creator(creator)
    purchase = Grant.Source.PURCHASE
    bootcamp_grant = services.grant_offer(
        contact=ada, offer=bootcamp, actor=actor, source=purchase
    ).obj
    vault_grant = services.grant_offer(
        contact=ada, offer=membership, actor=actor, source=purchase
    ).obj
    LessonCompletion.objects.bulk_create(
        LessonCompletion(contact=ada, lesson=lesson, completed_at=timezone.now())
        for lesson in basics.lessons.order_by("position")[:3]
    )
    refresh_access_facts(contact_ids=[ada.pk])

    other_member = MembershipFactory(site__name="Other School", site__slug="other")
    other_site = other_member.site
    other_product = ProductFactory(site=other_site, title="Other Course", lessons=1)
    other_offer = OfferFactory(site=other_site, title="Other Offer", products=[other_product])
    other_ada = ContactFactory(site=other_site, name="Ada Lovelace", email="ada@other.example")
    other_grant = services.grant_offer(
        contact=other_ada, offer=other_offer, actor=Actor.creator(other_member.user)
    ).obj
    return Academy(
        site=site,
        creator=creator,
        ada=ada,
        grace=grace,
        basics=basics,
        advanced=advanced,
        vault=vault,
        bootcamp=bootcamp,
        membership=membership,
        bootcamp_grant=bootcamp_grant,
        vault_grant=vault_grant,
        other_member=other_member,
        other_ada=other_ada,
        other_product=other_product,
        other_grant=other_grant,
    )
