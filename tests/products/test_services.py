from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from kajaccess.actors import Actor
from products import services
from products.models import LessonCompletion, Offer
from purchases.access import selectors
from purchases.access import services as access_services
from purchases.models import AccessEvent, Grant, ProductAccess
from purchases.offers import services as access
from tests.factories import ContactFactory, LessonFactory, OfferFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_complete_lesson_records_the_completion_and_the_activity_once():
    contact = ContactFactory()
    lesson = LessonFactory(product__site=contact.site)
    first = timezone.now() - timedelta(hours=1)

    completion, created = services.complete_lesson(contact=contact, lesson=lesson, now=first)
    assert created
    assert completion.completed_at == first
    contact.refresh_from_db()
    assert contact.last_activity_at == first

    again, created = services.complete_lesson(contact=contact, lesson=lesson)
    assert not created
    assert again.pk == completion.pk
    contact.refresh_from_db()
    assert contact.last_activity_at == first
    assert LessonCompletion.objects.filter(contact=contact, lesson=lesson).count() == 1


# --- Offers: create, edit, delete, restore (purchases.offers.services) ------------------------


def offer_details(offer, **changes):
    details = {
        "title": offer.title,
        "products": list(offer.products.all()),
        "price": offer.price,
        "payment_type": offer.payment_type,
        "interval": offer.interval,
        "installments": offer.installments,
        "access_days": offer.access_days,
    }
    return {**details, **changes}


def access_snapshot(site):
    grants = list(
        Grant.objects.filter(site=site)
        .order_by("pk")
        .values_list("pk", "status", "expires_at", "revoked_via")
    )
    accesses = list(
        ProductAccess.objects.filter(grant__site=site)
        .order_by("pk")
        .values_list("pk", "status", "removed_at")
    )
    return grants, accesses, AccessEvent.objects.filter(site=site).count()


def test_adding_a_product_gives_each_active_customer_access_with_one_event(academy):
    bootcamp, creator = academy["bootcamp"], academy["creator"]
    workbook = ProductFactory(site=academy["site"], title="Workbook", lessons=2)
    products = [academy["basics"], academy["advanced"], workbook]
    outcome = access.update_offer(
        offer=bootcamp, actor=creator, **offer_details(bootcamp, products=products)
    )
    assert outcome.changed
    assert "“Workbook” added to “Python Bootcamp” for 4 customers." in outcome.message
    events = AccessEvent.objects.filter(kind=AccessEvent.Kind.PRODUCT_ADDED, product=workbook)
    assert sorted(events.values_list("contact__name", flat=True)) == [
        "Ada Lovelace",
        "Alan Turing",
        "Barbara Liskov",
        "Grace Hopper",
    ]
    assert selectors.has_access(academy["ada"], workbook)
    assert not selectors.has_access(academy["edsger"], workbook)


def test_removing_a_product_takes_it_from_each_customer_with_one_event_keeping_progress(academy):
    bootcamp, creator, basics = academy["bootcamp"], academy["creator"], academy["basics"]
    access.update_offer(
        offer=bootcamp, actor=creator, **offer_details(bootcamp, products=[academy["advanced"]])
    )
    events = AccessEvent.objects.filter(kind=AccessEvent.Kind.PRODUCT_REMOVED, product=basics)
    assert events.count() == 4
    assert events.filter(contact=academy["ada"]).count() == 1
    assert not selectors.has_access(academy["ada"], basics)
    assert selectors.has_access(academy["ada"], academy["advanced"])
    assert academy["ada"].completions.filter(lesson__product=basics).count() == 3
    assert list(bootcamp.products.all()) == [academy["advanced"]]


def test_saving_an_offer_unchanged_changes_nothing(academy):
    bootcamp = academy["bootcamp"]
    before = access_snapshot(academy["site"])
    outcome = access.update_offer(
        offer=bootcamp, actor=academy["creator"], **offer_details(bootcamp)
    )
    assert not outcome.changed
    assert access_snapshot(academy["site"]) == before


def test_new_access_days_apply_to_new_grants_only(academy):
    bootcamp = academy["bootcamp"]
    before = access_snapshot(academy["site"])
    outcome = access.update_offer(
        offer=bootcamp,
        actor=academy["creator"],
        **offer_details(bootcamp, access_days=30, price=Decimal("249.00")),
    )
    assert outcome.changed
    bootcamp.refresh_from_db()
    assert (bootcamp.access_days, bootcamp.price) == (30, Decimal("249.00"))
    assert access_snapshot(academy["site"]) == before
    newcomer = ContactFactory(site=academy["site"])
    grant = access_services.grant_offer(
        contact=newcomer, offer=bootcamp, actor=academy["creator"]
    ).obj
    assert grant.expires_at is not None


def test_offer_rules_are_checked_and_change_nothing(academy):
    bootcamp = academy["bootcamp"]
    with pytest.raises(ValidationError) as free_with_price:
        access.update_offer(
            offer=bootcamp,
            actor=academy["creator"],
            **offer_details(bootcamp, payment_type=Offer.PaymentType.FREE),
        )
    assert "A free offer has no price" in str(free_with_price.value)
    with pytest.raises(ValidationError, match="number of payments"):
        access.update_offer(
            offer=bootcamp,
            actor=academy["creator"],
            **offer_details(bootcamp, payment_type=Offer.PaymentType.PAYMENT_PLAN),
        )
    bootcamp.refresh_from_db()
    assert bootcamp.payment_type == Offer.PaymentType.ONE_TIME


def test_an_offer_cannot_take_another_sites_product(academy):
    elsewhere = ProductFactory(lessons=1)
    with pytest.raises(ValidationError, match="another site"):
        access.update_offer(
            offer=academy["bootcamp"],
            actor=academy["creator"],
            **offer_details(academy["bootcamp"], products=[elsewhere]),
        )
    with pytest.raises(ValidationError, match="another site"):
        access.create_offer(
            site=academy["site"],
            actor=academy["creator"],
            title="Mixed",
            products=[elsewhere],
            price=Decimal("10"),
            payment_type=Offer.PaymentType.ONE_TIME,
        )
    assert not academy["bootcamp"].products.filter(pk=elsewhere.pk).exists()
    assert not Offer.objects.filter(title="Mixed").exists()


def test_create_offer(academy):
    outcome = access.create_offer(
        site=academy["site"],
        actor=academy["creator"],
        title="Coaching Plan",
        products=[academy["advanced"]],
        price=Decimal("150"),
        payment_type=Offer.PaymentType.PAYMENT_PLAN,
        installments=3,
    )
    offer = outcome.obj
    assert (offer.site, offer.installments, list(offer.products.all())) == (
        academy["site"],
        3,
        [academy["advanced"]],
    )


def test_deleting_an_offer_changes_no_access_and_ends_granting(academy):
    bootcamp, creator, site = academy["bootcamp"], academy["creator"], academy["site"]
    before = access_snapshot(site)
    outcome = access.delete_offer(offer=bootcamp, actor=creator)
    assert outcome.changed
    assert access_snapshot(site) == before
    assert selectors.has_access(academy["ada"], academy["basics"])
    assert bootcamp not in Offer.objects.live()
    with pytest.raises(ValidationError, match="can no longer be granted"):
        access_services.grant_offer(
            contact=ContactFactory(site=site), offer=bootcamp, actor=creator
        )

    again = access.delete_offer(offer=bootcamp, actor=creator)
    assert not again.changed
    assert "already deleted" in again.message

    with pytest.raises(ValidationError, match="restore it before editing"):
        access.update_offer(offer=bootcamp, actor=creator, **offer_details(bootcamp, title="X"))


def test_restoring_an_offer_makes_it_grantable_again(academy):
    bootcamp, creator, site = academy["bootcamp"], academy["creator"], academy["site"]
    access.delete_offer(offer=bootcamp, actor=creator)
    outcome = access.restore_offer(offer=bootcamp, actor=creator)
    assert outcome.changed
    assert bootcamp in Offer.objects.live()
    assert not access.restore_offer(offer=bootcamp, actor=creator).changed
    newcomer = ContactFactory(site=site)
    assert access_services.grant_offer(contact=newcomer, offer=bootcamp, actor=creator).changed


def test_deleting_leaves_other_offers_alone(academy):
    other = OfferFactory(site=academy["site"])
    access.delete_offer(offer=academy["bootcamp"], actor=Actor.creator(academy["owner"].user))
    assert list(Offer.objects.live().filter(site=academy["site"])) == [other]
