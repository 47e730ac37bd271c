"""On PostgreSQL, with row locks: every kind of access change at once, on the same contacts
and the same Products, ends without a deadlock and with facts equal to their recomputation."""

import random
import threading

import pytest
from django.db import transaction

from kajaccess.actors import Actor
from products.services import complete_lesson
from purchases.access import services
from purchases.access.facts import reconcile_access_facts
from purchases.models import Grant
from purchases.offers.services import add_product_to_offer, remove_product_from_offer
from purchases.reports.selectors import product_summaries
from tests.factories import ContactFactory, MembershipFactory, OfferFactory, ProductFactory
from tests.test_faults import in_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_every_kind_of_change_at_once_keeps_the_facts_exact(postgres_only):
    owner = MembershipFactory()
    site, actor = owner.site, Actor.creator(owner.user)
    basics, extra = (ProductFactory(site=site, lessons=3) for _ in range(2))
    bootcamp = OfferFactory(site=site, products=[basics])
    people = [ContactFactory(site=site) for _ in range(4)]
    for person in people:
        services.grant_offer(contact=person, offer=bootcamp, actor=actor)

    def worker(seed):
        rng = random.Random(seed)
        for _ in range(8):
            person = rng.choice(people)
            grant = Grant.objects.filter(contact=person, offer=bootcamp).order_by("-pk").first()
            step = rng.choice(["revoke", "restore", "product", "grant", "lesson", "offer"])
            if step == "revoke":
                services.revoke_grants(grant_ids=[grant.pk], actor=actor)
            elif step == "restore":
                services.restore_grants(grant_ids=[grant.pk], actor=actor)
            elif step == "product" and grant.product_accesses.filter(product=basics).exists():
                services.revoke_product(grant=grant, product=basics, actor=actor)
            elif step == "grant":
                services.grant_offer_to_contacts(
                    offer=bootcamp, contact_ids=[p.pk for p in people], actor=actor
                )
            elif step == "lesson":
                lesson = basics.lessons.order_by("?").first()
                complete_lesson(contact=person, lesson=lesson)
            elif step == "offer":
                change = rng.choice([add_product_to_offer, remove_product_from_offer])
                change(offer=bootcamp, product=extra, actor=actor)

    in_threads(*(lambda s=s: worker(s) for s in range(8)))

    assert reconcile_access_facts() == []
    summary = next(s for s in product_summaries(site) if s.product == basics)
    assert summary.holders == len(people)


def _grant_held_open(offer, contact, actor, granted, release):
    """Grant the Offer and keep the transaction open until `release` is set."""
    with transaction.atomic():
        services.grant_offer_to_contacts(offer=offer, contact_ids=[contact.pk], actor=actor)
        granted.set()
        release.wait(timeout=30)


def test_a_product_added_while_a_grant_is_made_reaches_that_grant(postgres_only):
    owner = MembershipFactory()
    site, actor = owner.site, Actor.creator(owner.user)
    basics, extra = (ProductFactory(site=site, lessons=1) for _ in range(2))
    bootcamp = OfferFactory(site=site, products=[basics])
    newcomer = ContactFactory(site=site)
    granted, release = threading.Event(), threading.Event()

    def add_after_the_grant_began():
        granted.wait(timeout=30)
        # The grant is made but not committed: the Product must wait for it, then reach it.
        threading.Timer(0.5, release.set).start()
        return add_product_to_offer(offer=bootcamp, product=extra, actor=actor)

    _, outcome = in_threads(
        lambda: _grant_held_open(bootcamp, newcomer, actor, granted, release),
        add_after_the_grant_began,
    )

    assert outcome.message == f"“{extra.title}” added to “{bootcamp.title}” for 1 customer."
    grant = Grant.objects.get(contact=newcomer, offer=bootcamp)
    assert set(grant.product_accesses.values_list("product_id", flat=True)) == {
        basics.pk,
        extra.pk,
    }
    assert reconcile_access_facts() == []
