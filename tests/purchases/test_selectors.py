from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from kajaccess.actors import Actor
from purchases.access import selectors, services
from purchases.access.facts import refresh_access_facts
from purchases.billing import selectors as billing_selectors
from purchases.models import Grant
from purchases.reports import selectors as reports_selectors
from tests.factories import (
    ContactFactory,
    GrantFactory,
    LessonCompletionFactory,
    MembershipFactory,
    OfferFactory,
    ProductFactory,
    SubscriptionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    owner = MembershipFactory(user=UserFactory(email="casey@example.com"))
    site = owner.site
    basics = ProductFactory(site=site, title="Python Basics", lessons=5)
    advanced = ProductFactory(site=site, title="Advanced Python", lessons=4)
    return SimpleNamespace(
        site=site,
        owner=owner.user,
        creator=Actor.creator(owner.user),
        basics=basics,
        advanced=advanced,
        bootcamp=OfferFactory(site=site, title="Python Bootcamp", products=[basics, advanced]),
        trial=OfferFactory(
            site=site, title="30-Day Trial", price=0, access_days=30, products=[basics]
        ),
        ada=ContactFactory(site=site, name="Ada Lovelace"),
    )


def grant(shop, offer=None, **kwargs):
    return services.grant_offer(
        contact=shop.ada, offer=offer or shop.bootcamp, actor=shop.creator, **kwargs
    ).obj


def library(contact, now=None):
    return [p.title for p in selectors.library_products(contact, now=now)]


def status(grant):
    """access_status as the Purchases tab reads it, from a freshly loaded grant."""
    state = selectors.access_status(selectors.contact_grants(grant.contact).get(pk=grant.pk))
    return None if state is None else (state.label, state.revoked_by)


# --- Who has access --------------------------------------------------------------------


def test_a_grant_opens_every_product_of_its_offer(shop):
    grant(shop)
    assert library(shop.ada) == ["Advanced Python", "Python Basics"]
    assert selectors.has_access(shop.ada, shop.basics)
    assert not selectors.has_access(ContactFactory(site=shop.site), shop.basics)


def test_access_ends_when_the_grant_expires_even_before_the_sweep(shop):
    started = timezone.now() - timedelta(days=10)
    trial = grant(shop, shop.trial, starts_at=started)
    assert library(shop.ada) == ["Python Basics"]
    end = trial.expires_at
    assert selectors.has_access(shop.ada, shop.basics, now=end - timedelta(seconds=1))
    assert not selectors.has_access(shop.ada, shop.basics, now=end)
    assert library(shop.ada, now=end + timedelta(days=1)) == []
    [entry] = selectors.contact_products(shop.ada, now=end + timedelta(days=1))
    assert entry.state == "expired"


def test_access_not_yet_started_does_not_open(shop):
    grant(shop, starts_at=timezone.now() + timedelta(days=2))
    assert library(shop.ada) == []
    assert not selectors.has_access(shop.ada, shop.basics)
    assert {e.state for e in selectors.contact_products(shop.ada)} == {"scheduled"}
    assert library(shop.ada, now=timezone.now() + timedelta(days=3)) == [
        "Advanced Python",
        "Python Basics",
    ]


def test_a_product_revoke_closes_that_product_only(shop):
    bootcamp = grant(shop)
    services.revoke_product(grant=bootcamp, product=shop.advanced, actor=shop.creator)
    assert library(shop.ada) == ["Python Basics"]
    assert not selectors.has_access(shop.ada, shop.advanced)
    states = {e.product.title: e.state for e in selectors.contact_products(shop.ada)}
    assert states == {"Python Basics": "active", "Advanced Python": "revoked"}


def test_two_offers_granting_the_same_product(shop):
    bootcamp = grant(shop)
    grant(shop, shop.trial)
    assert library(shop.ada) == ["Advanced Python", "Python Basics"]
    basics = next(e for e in selectors.contact_products(shop.ada) if e.product == shop.basics)
    assert [o.title for o in basics.offers] == ["Python Bootcamp", "30-Day Trial"]
    # Losing one of them leaves the Product open through the other.
    services.revoke_grant(grant=bootcamp, actor=shop.creator)
    assert library(shop.ada) == ["Python Basics"]
    assert selectors.has_access(shop.ada, shop.basics)
    assert reports_selectors.contacts_products_count([shop.ada.pk]) == {shop.ada.pk: 1}


def test_a_deleted_offer_keeps_its_customers_access(shop):
    grant(shop)
    shop.bootcamp.deleted_at = timezone.now()
    shop.bootcamp.save()
    assert library(shop.ada) == ["Advanced Python", "Python Basics"]
    assert selectors.has_access(shop.ada, shop.advanced)


def test_library_products_carry_progress_and_stay_within_the_site(shop):
    grant(shop)
    for lesson in shop.basics.lessons.order_by("position")[:3]:
        LessonCompletionFactory(contact=shop.ada, lesson=lesson)
    other = ContactFactory(site=shop.site)
    LessonCompletionFactory(contact=other, lesson=shop.basics.lessons.last())
    progress = {
        p.title: (p.lessons_done, p.lessons_total) for p in selectors.library_products(shop.ada)
    }
    assert progress == {"Python Basics": (3, 5), "Advanced Python": (0, 4)}
    entries = {e.product.title: e for e in selectors.contact_products(shop.ada)}
    assert (entries["Python Basics"].lessons_done, entries["Python Basics"].lessons_total) == (
        3,
        5,
    )


def test_contact_products_puts_open_products_first(shop):
    grant(shop, shop.trial, starts_at=timezone.now() - timedelta(days=40))
    services.expire_grants()
    vault = ProductFactory(site=shop.site, title="Community Vault", kind="community")
    membership = OfferFactory(site=shop.site, products=[vault])
    grant(shop, membership)
    assert [(e.product.title, e.state) for e in selectors.contact_products(shop.ada)] == [
        ("Community Vault", "active"),
        ("Python Basics", "expired"),
    ]


def test_contact_products_runs_a_fixed_number_of_queries(shop, django_assert_max_num_queries):
    for _ in range(5):
        offer = OfferFactory(site=shop.site, products=[ProductFactory(site=shop.site, lessons=2)])
        grant(shop, offer)
    with django_assert_max_num_queries(3):
        assert len(selectors.contact_products(shop.ada)) == 5


# --- access_status: the words of the Purchases tab -------------------------------------


def test_no_access_row_while_access_is_whole(shop):
    assert status(grant(shop)) is None


def test_revoked_by_a_creator_names_their_email(shop):
    bootcamp = grant(shop)
    services.revoke_grant(grant=bootcamp, actor=shop.creator, reason="Refund issued")
    assert status(bootcamp) == ("Access revoked", "Revoked by casey@example.com")
    state = selectors.access_status(Grant.objects.get(pk=bootcamp.pk))
    assert state.reason == "Refund issued" and state.revoked_at is not None


def test_revoked_by_a_team_member_names_that_member(shop):
    team = MembershipFactory(
        site=shop.site, user=UserFactory(email="team@example.com"), role="assistant"
    )
    bootcamp = grant(shop)
    services.revoke_grant(grant=bootcamp, actor=Actor.creator(team.user))
    assert status(bootcamp) == ("Access revoked", "Revoked by team@example.com")


def test_revoked_by_support_never_names_the_staff_member(shop):
    bootcamp = grant(shop)
    services.revoke_grant(grant=bootcamp, actor=Actor.support(UserFactory(is_staff=True)))
    assert status(bootcamp) == ("Access revoked", "Revoked by our support team")


def test_revoked_by_automation(shop):
    bootcamp = grant(shop)
    services.revoke_grant(grant=bootcamp, actor=Actor.automation())
    assert status(bootcamp) == ("Access revoked", "Revoked by automation")


def test_revoked_by_expiry_reads_revoked(shop):
    trial = grant(shop, shop.trial, starts_at=timezone.now() - timedelta(days=31))
    # Before the sweep has recorded it, the expired grant already reads the same.
    assert status(trial) == ("Access revoked", "Revoked")
    services.expire_grants()
    assert status(trial) == ("Access revoked", "Revoked")


def test_revoked_by_a_subscription_ending_reads_revoked(shop):
    subscription = SubscriptionFactory(grant=grant(shop))
    services.revoke_grant(grant=subscription.grant, actor=Actor.cancellation())
    assert status(subscription.grant) == ("Access revoked", "Revoked")


def test_a_revoked_product_makes_access_not_whole(shop):
    bootcamp = grant(shop)
    services.revoke_product(
        grant=bootcamp, product=shop.advanced, actor=Actor.support(shop.owner), reason="Appeal"
    )
    assert status(bootcamp) == ("Access revoked", "Revoked by our support team")
    services.restore_access(grant=bootcamp, product=shop.advanced, actor=shop.creator)
    assert status(bootcamp) is None


def test_restored_access_has_no_access_row(shop):
    bootcamp = grant(shop)
    services.revoke_grant(grant=bootcamp, actor=shop.creator)
    services.restore_access(grant=bootcamp, actor=shop.creator)
    assert status(bootcamp) is None


def test_access_status_of_many_grants_runs_a_fixed_number_of_queries(
    shop, django_assert_max_num_queries
):
    for i in range(6):
        offer = OfferFactory(site=shop.site, products=[shop.basics, shop.advanced])
        g = grant(shop, offer)
        if i % 2:
            services.revoke_product(grant=g, product=shop.basics, actor=shop.creator)
    with django_assert_max_num_queries(3):
        states = [selectors.access_status(g) for g in selectors.contact_grants(shop.ada)]
    assert sum(state is not None for state in states) == 3


# --- Counts and billing ----------------------------------------------------------------


def test_offer_customer_counts_count_current_access_only(shop):
    grant(shop)
    grace = ContactFactory(site=shop.site)
    g = services.grant_offer(contact=grace, offer=shop.bootcamp, actor=shop.creator).obj
    services.revoke_grant(grant=g, actor=shop.creator)
    GrantFactory(offer=OfferFactory())  # another site
    assert reports_selectors.offer_customer_counts(shop.site) == {shop.bootcamp.pk: 1}


def test_billing_subscriptions_are_those_still_taking_money(shop):
    subscription = SubscriptionFactory(grant=grant(shop))
    loaded = selectors.contact_grants(shop.ada).get()
    assert billing_selectors.billing_subscriptions(loaded) == [subscription]
    subscription.status = "canceled"
    subscription.save()
    refresh_access_facts(contact_ids=[shop.ada.pk])  # written by hand
    assert billing_selectors.billing_subscriptions(selectors.contact_grants(shop.ada).get()) == []
