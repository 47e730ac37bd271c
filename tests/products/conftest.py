from datetime import timedelta

import pytest
from django.utils import timezone

from kajaccess.actors import Actor
from purchases.access import services
from purchases.access.facts import refresh_access_facts
from purchases.models import Grant
from tests.factories import (
    ContactFactory,
    LessonCompletionFactory,
    MembershipFactory,
    OfferFactory,
    ProductFactory,
)


def complete(contact, product, count):
    for lesson in product.lessons.order_by("position")[:count]:
        LessonCompletionFactory(contact=contact, lesson=lesson)


@pytest.fixture
def academy():
    """A site whose Python Bootcamp (Python Basics, 5 lessons; Advanced Python, 4) has:

    Ada (3 of 5 Basics, access), Grace (1 of 5, access), Edsger (5 of 5, whole Offer
    revoked), Alan (0 of 5, grant expired), Barbara (0 of 5, starts next week).
    """
    owner = MembershipFactory(site__name="Demo Academy", user__email="creator@example.com")
    site = owner.site
    creator = Actor.creator(owner.user)
    basics = ProductFactory(site=site, title="Python Basics", lessons=5)
    advanced = ProductFactory(site=site, title="Advanced Python", lessons=4)
    bootcamp = OfferFactory(site=site, title="Python Bootcamp", products=[basics, advanced])
    people = {}
    for name, done in [
        ("Ada Lovelace", 3),
        ("Grace Hopper", 1),
        ("Edsger Dijkstra", 5),
        ("Alan Turing", 0),
        ("Barbara Liskov", 0),
    ]:
        first = name.split()[0].lower()
        contact = ContactFactory(site=site, name=name, email=f"{first}@example.com")
        people[first] = contact
        grant = services.grant_offer(contact=contact, offer=bootcamp, actor=creator).obj
        people[f"{first}_grant"] = grant
        complete(contact, basics, done)
    services.revoke_grant(grant=people["edsger_grant"], actor=creator, reason="Chargeback")
    now = timezone.now()
    Grant.objects.filter(pk=people["alan_grant"].pk).update(
        starts_at=now - timedelta(days=40), expires_at=now - timedelta(days=10)
    )
    Grant.objects.filter(pk=people["barbara_grant"].pk).update(starts_at=now + timedelta(days=7))
    refresh_access_facts(contact_ids=[people["alan"].pk, people["barbara"].pk])
    return {
        "site": site,
        "owner": owner,
        "creator": creator,
        "basics": basics,
        "advanced": advanced,
        "bootcamp": bootcamp,
        **people,
    }


@pytest.fixture
def creator_client(client, academy):
    client.force_login(academy["owner"].user)
    return client
