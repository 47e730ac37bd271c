from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from contacts.models import Contact
from kajaccess.actors import Actor
from products.models import Offer
from purchases.access import selectors, services
from purchases.access.facts import refresh_access_facts
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
from purchases.offers import services as offers_services
from tests.factories import (
    ContactFactory,
    GrantFactory,
    LessonCompletionFactory,
    MembershipFactory,
    OfferFactory,
    ProductFactory,
    SiteFactory,
    SubscriptionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

Kind = AccessEvent.Kind


@pytest.fixture(autouse=True)
def no_email_is_ever_sent():
    """Revoking, restoring or granting never notifies the customer."""
    yield
    assert mail.outbox == []


@pytest.fixture
def shop():
    owner = MembershipFactory(user=UserFactory(email="casey@example.com"))
    site = owner.site
    basics = ProductFactory(site=site, title="Python Basics", lessons=5)
    advanced = ProductFactory(site=site, title="Advanced Python", lessons=4)
    bootcamp = OfferFactory(
        site=site, title="Python Bootcamp", price=Decimal("299"), products=[basics, advanced]
    )
    ada = ContactFactory(site=site, name="Ada Lovelace", email="ada@example.com")
    return SimpleNamespace(
        site=site,
        owner=owner.user,
        creator=Actor.creator(owner.user),
        basics=basics,
        advanced=advanced,
        bootcamp=bootcamp,
        ada=ada,
    )


def granted(shop, **kwargs):
    return services.grant_offer(
        contact=shop.ada, offer=shop.bootcamp, actor=shop.creator, **kwargs
    ).obj


def events(**filters):
    return list(AccessEvent.objects.filter(**filters).order_by("pk"))


def library(contact):
    return [p.title for p in selectors.library_products(contact)]


# --- grant_offer -----------------------------------------------------------------------


def test_grant_offer_gives_every_product_and_records_one_event(shop):
    outcome = services.grant_offer(
        contact=shop.ada, offer=shop.bootcamp, actor=shop.creator, reason="Conference speaker"
    )
    grant = outcome.obj
    assert outcome.changed
    assert outcome.message == "Ada Lovelace now has “Python Bootcamp”."
    assert (grant.status, grant.source, grant.granted_by) == ("active", "manual", shop.owner)
    assert grant.expires_at is None
    assert library(shop.ada) == ["Advanced Python", "Python Basics"]
    (event,) = events()
    assert (event.kind, event.grant, event.contact, event.site) == (
        Kind.GRANTED,
        grant,
        shop.ada,
        shop.site,
    )
    assert (event.actor, event.actor_kind, event.reason) == (
        shop.owner,
        "creator",
        "Conference speaker",
    )


def test_granting_again_changes_nothing_and_says_so(shop):
    first = granted(shop)
    again = services.grant_offer(contact=shop.ada, offer=shop.bootcamp, actor=shop.creator)
    assert not again.changed
    assert again.obj == first
    assert again.message == "Ada Lovelace already has “Python Bootcamp”."
    assert Grant.objects.count() == 1
    assert ProductAccess.objects.count() == 2
    assert len(events()) == 1


def test_access_days_set_the_end_of_access(shop):
    trial = OfferFactory(
        site=shop.site, payment_type="free", price=0, access_days=30, products=[shop.basics]
    )
    starts_at = timezone.now() - timedelta(days=3)
    grant = services.grant_offer(
        contact=shop.ada, offer=trial, actor=shop.creator, starts_at=starts_at
    ).obj
    assert grant.starts_at == starts_at
    assert grant.expires_at == starts_at + timedelta(days=30)
    assert not Purchase.objects.exists() and not Subscription.objects.exists()


def test_a_purchase_records_what_was_paid_or_what_will_bill(shop):
    vault = ProductFactory(site=shop.site, title="Community Vault", kind="community")
    membership = OfferFactory(
        site=shop.site, payment_type="subscription", price=Decimal("29"), products=[vault]
    )
    plan = OfferFactory(
        site=shop.site,
        payment_type="payment_plan",
        price=Decimal("150"),
        installments=3,
        products=[vault],
    )
    purchase = Actor.customer(None)
    bought = granted(shop, source=Grant.Source.PURCHASE)
    assert bought.purchase.amount == Decimal("299")
    subscribed = services.grant_offer(
        contact=shop.ada, offer=membership, actor=purchase, source="purchase"
    ).obj
    assert (subscribed.subscription.amount, subscribed.subscription.status) == (29, "active")
    assert not subscribed.subscription.is_payment_plan
    on_plan = services.grant_offer(
        contact=shop.ada, offer=plan, actor=purchase, source="purchase"
    ).obj
    assert (on_plan.subscription.installments_total, on_plan.subscription.installments_paid) == (
        3,
        0,
    )
    assert events(kind=Kind.GRANTED)[1].actor_kind == "customer"


def test_a_deleted_offer_can_no_longer_be_granted(shop):
    shop.bootcamp.deleted_at = timezone.now()
    shop.bootcamp.save()
    with pytest.raises(ValidationError, match="was deleted"):
        granted(shop)
    assert not Grant.objects.exists() and not AccessEvent.objects.exists()


def test_history_before_an_offers_deletion_can_still_be_recorded(shop):
    deleted_at = timezone.now() - timedelta(days=200)
    offers_services.delete_offer(offer=shop.bootcamp, actor=shop.creator, now=deleted_at)
    assert shop.bootcamp.deleted_at == deleted_at
    bought = deleted_at - timedelta(days=100)
    (grant,) = services.grant_offer_to_contacts(
        offer=shop.bootcamp,
        contact_ids=[shop.ada.pk],
        actor=Actor.customer(None),
        source=Grant.Source.PURCHASE,
        starts_at=bought,
        now=bought,
    )
    assert (grant.starts_at, events(kind=Kind.GRANTED)[0].at) == (bought, bought)
    grace = ContactFactory(site=shop.site)
    for after in [deleted_at, None]:
        with pytest.raises(ValidationError, match="was deleted"):
            services.grant_offer_to_contacts(
                offer=shop.bootcamp, contact_ids=[grace.pk], actor=shop.creator, now=after
            )
    assert not grace.grants.exists()


def test_an_offer_of_another_site_cannot_be_granted(shop):
    elsewhere = OfferFactory(site=SiteFactory(), products=[ProductFactory()])
    with pytest.raises(ValidationError, match="another site"):
        services.grant_offer(contact=shop.ada, offer=elsewhere, actor=shop.creator)
    assert not Grant.objects.exists()


def test_an_unknown_source_is_refused(shop):
    with pytest.raises(ValidationError, match="Unknown grant source"):
        granted(shop, source="gift")
    assert not Grant.objects.exists()


def test_grant_offer_to_contacts_skips_holders_and_other_sites(shop):
    grace = ContactFactory(site=shop.site)
    stranger = ContactFactory()
    granted(shop)
    created = services.grant_offer_to_contacts(
        offer=shop.bootcamp, contact_ids=[shop.ada.pk, grace.pk, stranger.pk], actor=shop.creator
    )
    assert [g.contact for g in created] == [grace]
    assert Grant.objects.filter(contact=stranger).count() == 0
    assert len(events(kind=Kind.GRANTED)) == 2


def test_an_offer_can_be_granted_again_after_a_revoke(shop):
    first = granted(shop)
    services.revoke_grant(grant=first, actor=shop.creator)
    second = services.grant_offer(contact=shop.ada, offer=shop.bootcamp, actor=shop.creator)
    assert second.changed and second.obj != first
    assert library(shop.ada) == ["Advanced Python", "Python Basics"]


# --- revoke_grant ----------------------------------------------------------------------


def test_revoke_grant_ends_access_keeps_records_and_progress(shop):
    grant = granted(shop)
    LessonCompletionFactory(contact=shop.ada, lesson=shop.basics.lessons.first())
    outcome = services.revoke_grant(grant=grant, actor=shop.creator, reason="  Chargeback ")
    assert outcome.changed
    assert outcome.message == "Access to “Python Bootcamp” revoked for Ada Lovelace."
    grant.refresh_from_db()
    assert grant.status == AccessStatus.REVOKED
    assert (grant.revoked_by, grant.revoked_via, grant.revoke_reason) == (
        shop.owner,
        "creator",
        "Chargeback",
    )
    assert grant.revoked_at is not None
    assert library(shop.ada) == []
    assert shop.ada.completions.count() == 1
    (event,) = events(kind=Kind.REVOKED)
    assert (event.grant, event.actor, event.actor_kind, event.reason) == (
        grant,
        shop.owner,
        "creator",
        "Chargeback",
    )
    assert event.details["revoked_via"] == "creator"


def test_revoking_twice_changes_nothing_and_says_so(shop):
    grant = granted(shop)
    services.revoke_grant(grant=grant, actor=shop.creator, reason="Chargeback")
    revoked_at = Grant.objects.get().revoked_at
    again = services.revoke_grant(grant=grant, actor=Actor.support(UserFactory()), reason="x")
    assert not again.changed
    assert again.message == "Access to “Python Bootcamp” was already revoked for Ada Lovelace."
    grant.refresh_from_db()
    assert (grant.revoked_at, grant.revoked_via, grant.revoke_reason) == (
        revoked_at,
        "creator",
        "Chargeback",
    )
    assert len(events(kind=Kind.REVOKED)) == 1


@pytest.mark.parametrize(
    ("actor", "via"),
    [
        (lambda user: Actor.creator(user), RevokedVia.CREATOR),
        (lambda user: Actor.support(user), RevokedVia.SUPPORT),
        (lambda user: Actor.automation(), RevokedVia.AUTOMATION),
        (lambda user: Actor.expiry(), RevokedVia.EXPIRY),
        (lambda user: Actor.cancellation(), RevokedVia.CANCELLATION),
    ],
)
def test_who_revoked_decides_how_the_revoke_is_recorded(shop, actor, via):
    grant = granted(shop)
    actor = actor(shop.owner)
    services.revoke_grant(grant=grant, actor=actor)
    grant.refresh_from_db()
    assert grant.revoked_via == via
    assert grant.revoked_by == actor.user
    (event,) = events(kind=Kind.REVOKED)
    assert (event.actor_kind, event.actor) == (actor.kind, actor.user)


def test_a_customer_cannot_revoke(shop):
    grant = granted(shop)
    with pytest.raises(ValidationError, match="cannot revoke"):
        services.revoke_grant(grant=grant, actor=Actor.customer(None))
    assert Grant.objects.get().status == AccessStatus.ACTIVE


def test_revoking_never_stops_billing(shop):
    subscription = SubscriptionFactory(grant=GrantFactory(contact=shop.ada, offer=shop.bootcamp))
    services.revoke_grant(grant=subscription.grant, actor=shop.creator)
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE
    assert subscription.is_billing


def test_revoke_grants_revokes_many_and_leaves_revoked_ones_alone(shop):
    grants = [GrantFactory(offer=shop.bootcamp) for _ in range(3)]
    services.revoke_grant(grant=grants[0], actor=shop.creator)
    ids = services.revoke_grants(grant_ids=[g.pk for g in grants], actor=Actor.automation())
    assert ids == [grants[1].pk, grants[2].pk]
    assert list(Grant.objects.order_by("pk").values_list("revoked_via", flat=True)) == [
        "creator",
        "automation",
        "automation",
    ]
    assert len(events(kind=Kind.REVOKED)) == 3
    assert services.revoke_grants(grant_ids=[g.pk for g in grants], actor=shop.creator) == []


# --- revoke_product --------------------------------------------------------------------


def test_revoke_product_takes_away_one_product_only(shop):
    grant = granted(shop)
    outcome = services.revoke_product(
        grant=grant, product=shop.advanced, actor=shop.creator, reason="Partial refund"
    )
    assert outcome.changed
    assert outcome.message == "Access to “Advanced Python” revoked for Ada Lovelace."
    assert library(shop.ada) == ["Python Basics"]
    access = ProductAccess.objects.get(grant=grant, product=shop.advanced)
    assert (access.status, access.revoked_via, access.revoked_by, access.revoke_reason) == (
        "revoked",
        "creator",
        shop.owner,
        "Partial refund",
    )
    assert Grant.objects.get().status == AccessStatus.ACTIVE
    (event,) = events(kind=Kind.PRODUCT_REVOKED)
    assert (event.product, event.grant, event.actor, event.reason) == (
        shop.advanced,
        grant,
        shop.owner,
        "Partial refund",
    )


def test_a_product_revoke_can_be_dated_when_it_happened(shop):
    grant = granted(shop)
    then = timezone.now() - timedelta(days=3)
    services.revoke_product(
        grant=grant, product=shop.advanced, actor=shop.creator, reason="Partial refund", now=then
    )
    access = ProductAccess.objects.get(grant=grant, product=shop.advanced)
    (event,) = events(kind=Kind.PRODUCT_REVOKED)
    assert (access.revoked_at, event.at) == (then, then)


def test_revoking_a_product_twice_changes_nothing(shop):
    grant = granted(shop)
    services.revoke_product(grant=grant, product=shop.advanced, actor=shop.creator)
    again = services.revoke_product(grant=grant, product=shop.advanced, actor=shop.creator)
    assert not again.changed
    assert again.message == "“Advanced Python” was already revoked for Ada Lovelace."
    assert len(events(kind=Kind.PRODUCT_REVOKED)) == 1


def test_a_product_outside_the_offer_cannot_be_revoked(shop):
    grant = granted(shop)
    other = ProductFactory(site=shop.site, title="Community Vault")
    with pytest.raises(ValidationError, match="is not part of “Python Bootcamp”"):
        services.revoke_product(grant=grant, product=other, actor=shop.creator)
    assert not events(kind=Kind.PRODUCT_REVOKED)


# --- restore_access and restore_grants -------------------------------------------------


def test_restore_access_gives_back_the_offer_and_the_progress_is_there(shop):
    grant = granted(shop)
    LessonCompletionFactory(contact=shop.ada, lesson=shop.basics.lessons.first())
    services.revoke_grant(grant=grant, actor=shop.creator, reason="Chargeback")
    outcome = services.restore_access(grant=grant, actor=shop.creator, reason="Resolved")
    assert outcome.changed
    assert outcome.message == "Access to “Python Bootcamp” restored for Ada Lovelace."
    grant.refresh_from_db()
    assert (grant.status, grant.revoked_at, grant.revoked_by, grant.revoked_via) == (
        "active",
        None,
        None,
        "",
    )
    assert grant.revoke_reason == ""
    basics = next(p for p in selectors.library_products(shop.ada) if p.pk == shop.basics.pk)
    assert (basics.lessons_done, basics.lessons_total) == (1, 5)
    (event,) = events(kind=Kind.RESTORED)
    assert (event.actor, event.actor_kind, event.reason) == (shop.owner, "creator", "Resolved")
    assert event.details["revoked_via"] == "creator"


def test_restoring_access_that_is_there_changes_nothing(shop):
    grant = granted(shop)
    outcome = services.restore_access(grant=grant, actor=shop.creator)
    assert not outcome.changed
    assert outcome.message == "Ada Lovelace already has access to “Python Bootcamp”."
    assert not events(kind=Kind.RESTORED)
    services.revoke_grant(grant=grant, actor=shop.creator)
    services.restore_access(grant=grant, actor=shop.creator)
    assert not services.restore_access(grant=grant, actor=shop.creator).changed
    assert len(events(kind=Kind.RESTORED)) == 1


def test_restoring_access_that_ended_by_expiry_starts_a_fresh_period(shop):
    trial = OfferFactory(site=shop.site, price=0, access_days=30, products=[shop.basics])
    started = timezone.now() - timedelta(days=40)
    grant = services.grant_offer(
        contact=shop.ada, offer=trial, actor=shop.creator, starts_at=started
    ).obj
    assert services.expire_grants() == 1
    services.restore_access(grant=grant, actor=shop.creator)
    grant.refresh_from_db()
    assert grant.status == AccessStatus.ACTIVE
    assert grant.expires_at - timezone.now() > timedelta(days=29, hours=23)
    assert library(shop.ada) == ["Python Basics"]
    assert events(kind=Kind.RESTORED)[0].details["fresh_period"] is True


def test_restoring_an_expired_grant_not_yet_swept_starts_a_fresh_period(shop):
    trial = OfferFactory(site=shop.site, price=0, access_days=7, products=[shop.basics])
    grant = services.grant_offer(
        contact=shop.ada,
        offer=trial,
        actor=shop.creator,
        starts_at=timezone.now() - timedelta(days=10),
    ).obj
    assert services.restore_access(grant=grant, actor=shop.creator).changed
    grant.refresh_from_db()
    assert grant.expires_at > timezone.now() + timedelta(days=6)


def test_a_grant_is_not_restored_beside_another_active_grant_of_the_offer(shop):
    first = granted(shop)
    services.revoke_grant(grant=first, actor=shop.creator)
    granted(shop)
    with pytest.raises(ValidationError, match="already holds “Python Bootcamp”"):
        services.restore_access(grant=first, actor=shop.creator)
    assert Grant.objects.filter(status="active").count() == 1
    assert not events(kind=Kind.RESTORED)


def test_restore_product_gives_back_one_product(shop):
    grant = granted(shop)
    services.revoke_product(grant=grant, product=shop.advanced, actor=shop.creator)
    outcome = services.restore_access(
        grant=grant, product=shop.advanced, actor=Actor.support(shop.owner), reason="Appeal"
    )
    assert outcome.changed
    assert outcome.message == "Access to “Advanced Python” restored for Ada Lovelace."
    assert library(shop.ada) == ["Advanced Python", "Python Basics"]
    (event,) = events(kind=Kind.PRODUCT_RESTORED)
    assert (event.product, event.actor_kind, event.reason) == (
        shop.advanced,
        "support",
        "Appeal",
    )
    again = services.restore_access(grant=grant, product=shop.advanced, actor=shop.creator)
    assert not again.changed
    assert again.message == "Ada Lovelace already has access to “Advanced Python”."
    assert len(events(kind=Kind.PRODUCT_RESTORED)) == 1


def test_restore_grants_restores_many_once(shop):
    grants = [GrantFactory(offer=shop.bootcamp) for _ in range(3)]
    ids = [g.pk for g in grants]
    services.revoke_grants(grant_ids=ids, actor=shop.creator)
    assert services.restore_grants(grant_ids=ids, actor=shop.creator) == ids
    assert services.restore_grants(grant_ids=ids, actor=shop.creator) == []
    assert set(Grant.objects.values_list("status", flat=True)) == {"active"}
    assert len(events(kind=Kind.RESTORED)) == 3


# --- Products of an Offer --------------------------------------------------------------


def test_adding_a_product_to_an_offer_gives_it_to_every_active_grant(shop):
    grant = granted(shop)
    revoked = GrantFactory(offer=shop.bootcamp)
    services.revoke_grant(grant=revoked, actor=shop.creator)
    extra = ProductFactory(site=shop.site, title="Bonus Workshop")
    outcome = offers_services.add_product_to_offer(
        offer=shop.bootcamp, product=extra, actor=shop.creator
    )
    assert outcome.changed
    assert outcome.message == "“Bonus Workshop” added to “Python Bootcamp” for 1 customer."
    assert selectors.has_access(shop.ada, extra)
    assert not selectors.has_access(revoked.contact, extra)
    (event,) = events(kind=Kind.PRODUCT_ADDED)
    assert (event.grant, event.product, event.actor) == (grant, extra, shop.owner)
    again = offers_services.add_product_to_offer(
        offer=shop.bootcamp, product=extra, actor=shop.creator
    )
    assert not again.changed
    assert again.message == "“Bonus Workshop” is already in “Python Bootcamp”."
    assert len(events(kind=Kind.PRODUCT_ADDED)) == 1


def test_a_product_of_another_site_cannot_join_an_offer(shop):
    with pytest.raises(ValidationError, match="another site"):
        offers_services.add_product_to_offer(
            offer=shop.bootcamp, product=ProductFactory(), actor=shop.creator
        )
    assert shop.bootcamp.products.count() == 2


def test_removing_a_product_from_an_offer_ends_that_access_with_its_own_event(shop):
    grant = granted(shop)
    outcome = offers_services.remove_product_from_offer(
        offer=shop.bootcamp, product=shop.advanced, actor=shop.creator
    )
    assert outcome.changed
    assert outcome.message == "“Advanced Python” removed from “Python Bootcamp” for 1 customer."
    assert library(shop.ada) == ["Python Basics"]
    assert selectors.access_status(selectors.contact_grants(shop.ada).get()) is None
    (event,) = events(kind=Kind.PRODUCT_REMOVED)
    assert (event.grant, event.product) == (grant, shop.advanced)
    again = offers_services.remove_product_from_offer(
        offer=shop.bootcamp, product=shop.advanced, actor=shop.creator
    )
    assert not again.changed
    assert again.message == "“Advanced Python” is not in “Python Bootcamp”."
    assert len(events(kind=Kind.PRODUCT_REMOVED)) == 1


def test_a_product_put_back_in_an_offer_reopens_the_same_access(shop):
    grant = granted(shop)
    offers_services.remove_product_from_offer(
        offer=shop.bootcamp, product=shop.advanced, actor=shop.creator
    )
    offers_services.add_product_to_offer(
        offer=shop.bootcamp, product=shop.advanced, actor=shop.creator
    )
    assert ProductAccess.objects.filter(grant=grant, product=shop.advanced).count() == 1
    assert selectors.has_access(shop.ada, shop.advanced)


# --- expire_grants ---------------------------------------------------------------------


def test_expire_grants_records_each_ended_grant_once(shop):
    trial = OfferFactory(site=shop.site, price=0, access_days=30, products=[shop.basics])
    now = timezone.now()
    old = [
        services.grant_offer(
            contact=ContactFactory(site=shop.site),
            offer=trial,
            actor=shop.creator,
            starts_at=now - timedelta(days=31 + i),
        ).obj
        for i in range(3)
    ]
    current = services.grant_offer(
        contact=shop.ada, offer=trial, actor=shop.creator, starts_at=now - timedelta(days=29)
    ).obj
    assert services.expire_grants(batch_size=2) == 3
    for grant in old:
        grant.refresh_from_db()
        assert (grant.status, grant.revoked_via, grant.revoked_by) == ("revoked", "expiry", None)
    current.refresh_from_db()
    assert current.status == AccessStatus.ACTIVE
    expired = events(kind=Kind.REVOKED)
    assert [(e.grant, e.actor_kind, e.actor) for e in expired] == [(g, "expiry", None) for g in old]
    assert services.expire_grants() == 0
    assert len(events(kind=Kind.REVOKED)) == 3


# --- Reasons ---------------------------------------------------------------------------

TOO_LONG = "x" * 501


def test_a_reason_of_500_characters_is_kept(shop):
    grant = granted(shop)
    services.revoke_grant(grant=grant, actor=shop.creator, reason="y" * 500)
    assert len(Grant.objects.get().revoke_reason) == 500


@pytest.mark.parametrize(
    "change",
    [
        lambda s, g: services.grant_offer(
            contact=ContactFactory(site=s.site), offer=s.bootcamp, actor=s.creator, reason=TOO_LONG
        ),
        lambda s, g: services.revoke_grant(grant=g, actor=s.creator, reason=TOO_LONG),
        lambda s, g: services.revoke_product(
            grant=g, product=s.basics, actor=s.creator, reason=TOO_LONG
        ),
        lambda s, g: services.restore_access(grant=g, actor=s.creator, reason=TOO_LONG),
        lambda s, g: services.restore_access(
            grant=g, product=s.advanced, actor=s.creator, reason=TOO_LONG
        ),
    ],
    ids=["grant", "revoke", "revoke product", "restore", "restore product"],
)
def test_a_reason_over_500_characters_is_refused_and_changes_nothing(shop, change):
    grant = granted(shop)
    services.revoke_product(grant=grant, product=shop.advanced, actor=shop.creator)
    before = (
        list(Grant.objects.values_list("pk", "status", "revoke_reason")),
        list(ProductAccess.objects.values_list("pk", "status")),
        AccessEvent.objects.count(),
    )
    with pytest.raises(ValidationError, match="at most 500 characters"):
        change(shop, grant)
    after = (
        list(Grant.objects.values_list("pk", "status", "revoke_reason")),
        list(ProductAccess.objects.values_list("pk", "status")),
        AccessEvent.objects.count(),
    )
    assert after == before


# --- Database constraints --------------------------------------------------------------


def refused(build):
    with pytest.raises(IntegrityError), transaction.atomic():
        build()


def test_two_active_grants_of_one_offer_for_a_contact_are_refused(shop):
    grant = granted(shop)
    refused(lambda: GrantFactory(contact=shop.ada, offer=shop.bootcamp))
    services.revoke_grant(grant=grant, actor=shop.creator)
    GrantFactory(contact=shop.ada, offer=shop.bootcamp)  # allowed beside a revoked one


def test_negative_prices_and_amounts_are_refused(shop):
    refused(lambda: OfferFactory(site=shop.site, price=Decimal("-1")))
    grant = granted(shop)
    refused(lambda: Purchase.objects.create(grant=grant, amount=Decimal("-0.01")))
    refused(lambda: SubscriptionFactory(grant=grant, amount=Decimal("-29")))
    subscription = SubscriptionFactory(grant=grant)
    refused(
        lambda: Payment.objects.create(
            subscription=subscription,
            amount=Decimal("-29"),
            status="succeeded",
            due_at=timezone.now(),
        )
    )


def test_revoked_fields_are_set_exactly_when_revoked(shop):
    grant = granted(shop)
    now = timezone.now()
    grants = Grant.objects.filter(pk=grant.pk)
    refused(lambda: grants.update(revoked_at=now))
    refused(lambda: grants.update(revoked_via="creator"))
    refused(lambda: grants.update(status="revoked"))
    refused(lambda: grants.update(status="revoked", revoked_at=now))
    refused(lambda: grants.update(status="revoked", revoked_at=now, revoked_via="magic"))
    accesses = ProductAccess.objects.filter(grant=grant)
    refused(lambda: accesses.update(revoked_at=now))
    refused(lambda: accesses.update(status="revoked"))
    grants.update(status="revoked", revoked_at=now, revoked_via="creator")  # consistent: fine
    refresh_access_facts(contact_ids=grants.values_list("contact_id", flat=True))


def test_a_contact_email_is_unique_per_site_in_any_letter_case(shop):
    refused(lambda: ContactFactory(site=shop.site, email="ADA@Example.com"))
    ContactFactory(site=SiteFactory(), email="ADA@example.com")  # another site: fine


def test_an_offer_cannot_restrict_access_to_zero_days(shop):
    refused(lambda: Offer.objects.create(site=shop.site, title="Nothing", access_days=0))


def test_granting_to_a_contact_moved_to_another_site_since_it_was_read_is_refused(
    member, site, creator
):
    offer = OfferFactory(site=site, products=[ProductFactory(site=site)])
    contact = ContactFactory(site=site)
    Contact.objects.filter(pk=contact.pk).update(site=SiteFactory())
    with pytest.raises(ValidationError, match="no longer a contact here"):
        services.grant_offer(contact=contact, offer=offer, actor=creator)
    assert not Grant.objects.filter(contact=contact).exists()


def test_an_offer_saved_with_more_access_days_than_a_date_holds_is_refused(site, creator):
    offer = OfferFactory(site=site, products=[ProductFactory(site=site)])
    Offer.objects.filter(pk=offer.pk).update(access_days=99_999_999)
    offer.refresh_from_db()
    contact = ContactFactory(site=site)
    with pytest.raises(ValidationError, match="more than the 3650 an offer can"):
        services.grant_offer(contact=contact, offer=offer, actor=creator)
    assert not Grant.objects.filter(contact=contact).exists()


def test_an_offer_deleted_while_the_grant_form_was_open_is_refused():
    owner = MembershipFactory()
    bootcamp = OfferFactory(site=owner.site, products=[ProductFactory(site=owner.site)])
    shown = Offer.objects.get(pk=bootcamp.pk)  # as the form read it, before the deletion
    offers_services.delete_offer(offer=bootcamp, actor=Actor.creator(owner.user))

    with pytest.raises(ValidationError, match="was deleted and can no longer be granted"):
        services.grant_offer_to_contacts(
            offer=shown,
            contact_ids=[ContactFactory(site=owner.site).pk],
            actor=Actor.creator(owner.user),
        )
    assert not Grant.objects.filter(offer=bootcamp).exists()
