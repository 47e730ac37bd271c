"""Eight clicks at the same moment change access once. PostgreSQL only: real row locks."""

import threading

import pytest
from django.db import connection

from kajaccess.actors import Actor
from purchases.access import services
from purchases.models import AccessEvent, Grant, ProductAccess
from tests.factories import ContactFactory, MembershipFactory, OfferFactory, ProductFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8


def at_once(work):
    """Run `work` in eight threads released together; return what each returned."""
    barrier = threading.Barrier(THREADS)
    results, errors = [], []

    def run():
        try:
            barrier.wait()
            results.append(work())
        except Exception as error:  # collected and reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(results) == THREADS
    return results


@pytest.fixture
def shop(postgres_only):
    owner = MembershipFactory()
    basics = ProductFactory(site=owner.site, lessons=2)
    advanced = ProductFactory(site=owner.site, lessons=2)
    offer = OfferFactory(site=owner.site, products=[basics, advanced])
    contact = ContactFactory(site=owner.site)
    return owner, offer, contact, advanced


def test_eight_revokes_of_one_grant_leave_one_revoke_event(shop):
    owner, offer, contact, _ = shop
    actor = Actor.creator(owner.user)
    grant = services.grant_offer(contact=contact, offer=offer, actor=actor).obj

    outcomes = at_once(
        lambda: services.revoke_grant(
            grant=Grant.objects.get(pk=grant.pk), actor=actor, reason="Chargeback"
        )
    )

    assert sum(outcome.changed for outcome in outcomes) == 1
    assert AccessEvent.objects.filter(grant=grant, kind=AccessEvent.Kind.REVOKED).count() == 1
    grant.refresh_from_db()
    assert (grant.status, grant.revoke_reason) == ("revoked", "Chargeback")


def test_eight_grants_of_one_offer_leave_one_active_grant(shop):
    owner, offer, contact, _ = shop
    actor = Actor.creator(owner.user)

    outcomes = at_once(lambda: services.grant_offer(contact=contact, offer=offer, actor=actor))

    assert sum(outcome.changed for outcome in outcomes) == 1
    assert Grant.objects.filter(contact=contact, offer=offer, status="active").count() == 1
    assert len({outcome.obj.pk for outcome in outcomes}) == 1
    assert AccessEvent.objects.filter(kind=AccessEvent.Kind.GRANTED).count() == 1
    assert ProductAccess.objects.count() == 2


def test_eight_restores_of_one_grant_leave_one_restore_event(shop):
    owner, offer, contact, _ = shop
    actor = Actor.creator(owner.user)
    grant = services.grant_offer(contact=contact, offer=offer, actor=actor).obj
    services.revoke_grant(grant=grant, actor=actor)

    outcomes = at_once(
        lambda: services.restore_access(grant=Grant.objects.get(pk=grant.pk), actor=actor)
    )

    assert sum(outcome.changed for outcome in outcomes) == 1
    assert AccessEvent.objects.filter(kind=AccessEvent.Kind.RESTORED).count() == 1


def test_eight_revokes_of_one_product_leave_one_event(shop):
    owner, offer, contact, advanced = shop
    actor = Actor.creator(owner.user)
    grant = services.grant_offer(contact=contact, offer=offer, actor=actor).obj

    outcomes = at_once(
        lambda: services.revoke_product(
            grant=Grant.objects.get(pk=grant.pk), product=advanced, actor=actor
        )
    )

    assert sum(outcome.changed for outcome in outcomes) == 1
    assert AccessEvent.objects.filter(kind=AccessEvent.Kind.PRODUCT_REVOKED).count() == 1
