"""The Contacts tab's reads: the table's rows, "all matching", More Info and Purchases."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from contacts.filters import contacts_matching
from kajaccess.actors import Actor
from purchases.access import selectors, services
from purchases.offers import services as offers_services
from purchases.reports import selectors as reports_selectors
from tests.academy import build_academy
from tests.factories import ContactFactory, GrantFactory, OfferFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def academy():
    return build_academy()


def total_products(site) -> dict[str, int]:
    return {c.name: c.products_count for c in reports_selectors.contacts_table(site)}


def test_total_products_counts_distinct_products_open_now(academy):
    # Advanced Python a second time, through another offer: still one Product.
    GrantFactory(
        offer=OfferFactory(site=academy.site, products=[academy.advanced]), contact=academy.ada
    )
    assert total_products(academy.site) == {"Ada Lovelace": 3, "Grace Hopper": 0}


def test_total_products_leaves_out_revoked_expired_scheduled_and_removed_access(academy):
    actor = Actor.creator(academy.creator)
    later = ProductFactory(site=academy.site)
    GrantFactory(
        offer=OfferFactory(site=academy.site, products=[later]),
        contact=academy.grace,
        starts_at=timezone.now() + timedelta(days=3),
    )
    ended = ProductFactory(site=academy.site)
    GrantFactory(
        offer=OfferFactory(site=academy.site, products=[ended]),
        contact=academy.grace,
        starts_at=timezone.now() - timedelta(days=40),
        expires_at=timezone.now() - timedelta(days=10),
    )
    services.revoke_product(grant=academy.bootcamp_grant, product=academy.basics, actor=actor)
    offers_services.remove_product_from_offer(
        offer=academy.membership, product=academy.vault, actor=actor
    )
    assert total_products(academy.site) == {"Ada Lovelace": 1, "Grace Hopper": 0}


def test_the_customer_mark_is_holding_or_having_held_a_grant(academy):
    services.revoke_grant(grant=academy.bootcamp_grant, actor=Actor.creator(academy.creator))
    services.revoke_grant(grant=academy.vault_grant, actor=Actor.creator(academy.creator))
    marks = {c.name: c.is_customer for c in reports_selectors.contacts_table(academy.site)}
    assert marks == {"Ada Lovelace": True, "Grace Hopper": False}


def test_contacts_matching_rebuilds_the_tabs_search_and_filters(academy):
    ContactFactory(site=academy.site, name="Ada Byron", email="byron@example.com")
    query = f"q=ada&offer={academy.bootcamp.pk}"
    assert [c.name for c in contacts_matching(academy.site, query)] == ["Ada Lovelace"]
    assert {c.name for c in contacts_matching(academy.site, "q=ada")} == {
        "Ada Lovelace",
        "Ada Byron",
    }
    # Another site's Ada never matches, and a filter naming another site's offer is refused.
    assert all(c.site_id == academy.site.pk for c in contacts_matching(academy.site, "q=ada"))
    other_offer = academy.other_grant.offer.pk
    with pytest.raises(ValidationError, match="That offer no longer exists."):
        contacts_matching(academy.site, f"q=ada&offer={other_offer}")


def test_more_info_lists_each_grant_with_its_products_and_progress(academy):
    actor = Actor.creator(academy.creator)
    bundle = OfferFactory(site=academy.site, title="Legacy Bundle", products=[academy.advanced])
    services.grant_offer(contact=academy.ada, offer=bundle, actor=actor)
    services.revoke_product(grant=academy.bootcamp_grant, product=academy.advanced, actor=actor)
    info = selectors.more_info(academy.ada, academy.advanced)
    assert (info.lessons_done, info.lessons_total) == (0, 4)
    by_offer = {detail.grant.offer.title: detail for detail in info.grants}
    assert set(by_offer) == {"Python Bootcamp", "Legacy Bundle"}
    bootcamp = by_offer["Python Bootcamp"]
    assert bootcamp.state == "partly_revoked" and bootcamp.is_open
    lines = {line.product.title: line for line in bootcamp.products}
    assert (lines["Python Basics"].lessons_done, lines["Python Basics"].lessons_total) == (3, 5)
    assert lines["Python Basics"].state == "active"
    assert lines["Advanced Python"].state == "revoked" and lines["Advanced Python"].revoked_alone
    assert bootcamp.access.revoked_by == "Revoked by creator@example.com"
    assert by_offer["Legacy Bundle"].access is None


def test_more_info_marks_expired_and_revoked_grants(academy):
    services.revoke_grant(grant=academy.vault_grant, actor=Actor.automation())
    [detail] = selectors.more_info(academy.ada, academy.vault).grants
    assert detail.state == "revoked" and not detail.is_open
    assert [line.state for line in detail.products] == ["revoked"]
    assert detail.billing == [academy.vault_grant.subscription]
    later = timezone.now() + timedelta(days=400)
    ended = OfferFactory(site=academy.site, products=[academy.vault], access_days=30)
    services.grant_offer(contact=academy.grace, offer=ended, actor=Actor.creator(academy.creator))
    [expired] = selectors.more_info(academy.grace, academy.vault, now=later).grants
    assert expired.state == "expired" and not expired.is_open


def test_contact_purchases_has_one_entry_per_grant_newest_first(academy):
    entries = selectors.contact_purchases(academy.ada)
    assert [e.grant.offer.title for e in entries] == ["Vault Membership", "Python Bootcamp"]
    assert all(e.access is None for e in entries)
    assert entries[0].subscription.amount == 29
