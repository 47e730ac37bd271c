"""Undo puts back exactly what a bulk grant or revoke changed, and nothing anybody decided
since: a grant whose latest access decision is no longer the bulk action's own is skipped,
in the preview and in the summary, with who changed it."""

from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contacts.bulk import runner
from contacts.bulk.runner import start_bulk_action, start_undo
from contacts.bulk.selection import preview
from kajaccess.actors import Actor
from purchases.access import services
from purchases.models import AccessEvent, AccessStatus, BulkAction, BulkActionContact, Grant
from purchases.offers import services as offer_services
from tests.factories import (
    ContactFactory,
    MembershipFactory,
    OfferFactory,
    ProductFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(monkeypatch):
    """Three customers of Python Bootcamp who also hold the Vault; a teammate, Sam."""
    monkeypatch.setattr(runner, "CHUNK_SIZE", 2)
    member = MembershipFactory(user=UserFactory(email="casey@example.com"))
    site = member.site
    sam = MembershipFactory(site=site, user=UserFactory(email="sam@example.com")).user
    basics = ProductFactory(site=site, title="Python Basics")
    bootcamp = OfferFactory(site=site, title="Python Bootcamp", products=[basics])
    vault = OfferFactory(site=site, title="Vault", products=[ProductFactory(site=site)])
    people = ContactFactory.create_batch(3, site=site)
    ids = [p.pk for p in people]
    for offer in (bootcamp, vault):
        services.grant_offer_to_contacts(
            offer=offer, contact_ids=ids, actor=Actor.creator(member.user)
        )
    return member, sam, bootcamp, vault, basics, people


def start(member, action, params, ids) -> BulkAction:
    with TestCase.captureOnCommitCallbacks(execute=True):
        bulk = start_bulk_action(
            site=member.site,
            user=member.user,
            action=action,
            params=params,
            selection={"ids": ids},
        )
    bulk.refresh_from_db()
    return bulk


def undo(member, original: BulkAction):
    """The undo's preview as the popup counts it, then the undo, run."""
    counted = preview(
        BulkAction(
            site=member.site,
            created_by=member.user,
            action=f"undo_{original.action}",
            params={"undo_of": original.pk},
            selection={"undo_of": original.pk},
        )
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        bulk = start_undo(site=member.site, user=member.user, original=original)
    bulk.refresh_from_db()
    assert bulk.status == BulkAction.Status.DONE
    assert (counted.selected, counted.will_change, counted.skipped) == (
        bulk.total,
        bulk.changed,
        Counter(bulk.outcome.get("skipped", {})),
    )
    return counted, bulk


def grant_of(contact, offer) -> Grant:
    return contact.grants.filter(offer=offer).latest("pk")


def revoke_bootcamp(member, bootcamp, people) -> BulkAction:
    bulk = start(member, "revoke_offer", {"offer": bootcamp.pk}, [p.pk for p in people])
    assert bulk.changed == len(people)
    return bulk


def test_a_grant_restored_and_revoked_again_since_keeps_its_new_reason(shop, client):
    member, sam, bootcamp, vault, basics, people = shop
    revoke = revoke_bootcamp(member, bootcamp, people)
    chargeback = grant_of(people[1], bootcamp)
    services.restore_access(grant=chargeback, actor=Actor.creator(sam))
    services.revoke_grant(
        grant=chargeback, actor=Actor.creator(sam), reason="Chargeback - never restore"
    )

    counted, bulk = undo(member, revoke)
    assert (counted.selected, counted.will_change) == (3, 2)
    assert counted.skipped == Counter({"changed since by sam@example.com": 1})
    chargeback.refresh_from_db()
    assert (chargeback.status, chargeback.revoke_reason, chargeback.revoked_by) == (
        AccessStatus.REVOKED,
        "Chargeback - never restore",
        sam,
    )
    assert grant_of(people[0], bootcamp).status == AccessStatus.ACTIVE
    assert grant_of(people[2], bootcamp).status == AccessStatus.ACTIVE
    assert not AccessEvent.objects.filter(bulk_action=bulk, grant=chargeback).exists()

    # The popup before, and the summary after, say the same, and who.
    client.force_login(member.user)
    page = client.get(reverse("bulk:detail", args=[bulk.pk])).content.decode()
    assert "<li>Changed since by sam@example.com: <strong>1</strong></li>" in page


def test_a_grant_restored_since_is_not_restored_twice(shop):
    member, sam, bootcamp, vault, basics, people = shop
    revoke = revoke_bootcamp(member, bootcamp, people)
    services.restore_access(grant=grant_of(people[0], bootcamp), actor=Actor.support(sam))

    counted, bulk = undo(member, revoke)
    assert counted.skipped == Counter({"changed since by our support team": 1})
    assert bulk.changed == 2
    assert (
        AccessEvent.objects.filter(
            grant=grant_of(people[0], bootcamp), kind=AccessEvent.Kind.RESTORED
        ).count()
        == 1
    )


def test_a_grant_that_would_have_expired_since_stays_revoked(shop):
    member, sam, bootcamp, vault, basics, people = shop
    revoke = revoke_bootcamp(member, bootcamp, people)
    # Its access period ended after the bulk revoke: restoring would start a new one.
    ended = grant_of(people[2], bootcamp)
    ended_at = timezone.now() - timedelta(days=1)
    Grant.objects.filter(pk=ended.pk).update(
        starts_at=ended_at - timedelta(days=30), expires_at=ended_at
    )

    counted, bulk = undo(member, revoke)
    assert counted.skipped == Counter({"expired since": 1})
    ended.refresh_from_db()
    assert ended.status == AccessStatus.REVOKED


def test_a_bulk_grant_expired_since_is_not_revoked_by_its_undo(shop):
    member, sam, bootcamp, vault, basics, people = shop
    trial = OfferFactory(site=member.site, title="Trial", access_days=7, products=[basics])
    grant = start(member, "grant_offer", {"offer": trial.pk}, [p.pk for p in people])
    ended_at = timezone.now() - timedelta(minutes=1)
    Grant.objects.filter(offer=trial, contact=people[0]).update(
        starts_at=ended_at - timedelta(days=7), expires_at=ended_at
    )
    assert services.expire_grants() == 1

    counted, bulk = undo(member, grant)
    assert (counted.will_change, counted.skipped) == (2, Counter({"expired since": 1}))
    expired = grant_of(people[0], trial)
    assert (expired.status, expired.revoked_via) == (AccessStatus.REVOKED, "expiry")


def test_a_deleted_offer_is_not_handed_back_by_an_undo(shop):
    member, sam, bootcamp, vault, basics, people = shop
    revoke = revoke_bootcamp(member, bootcamp, people)
    offer_services.delete_offer(offer=bootcamp, actor=Actor.creator(sam))

    counted, bulk = undo(member, revoke)
    assert (counted.will_change, counted.skipped) == (0, Counter({"offer deleted": 3}))
    assert not Grant.objects.filter(offer=bootcamp, status=AccessStatus.ACTIVE).exists()


def test_an_undo_grant_still_takes_back_a_deleted_offer(shop):
    member, sam, bootcamp, vault, basics, people = shop
    spring = OfferFactory(site=member.site, title="Spring", products=[basics])
    grant = start(member, "grant_offer", {"offer": spring.pk}, [p.pk for p in people])
    offer_services.delete_offer(offer=spring, actor=Actor.creator(sam))

    counted, bulk = undo(member, grant)
    assert (counted.will_change, bulk.changed) == (3, 3)
    assert not Grant.objects.filter(offer=spring, status=AccessStatus.ACTIVE).exists()


def test_the_contacts_other_grants_are_untouched(shop):
    member, sam, bootcamp, vault, basics, people = shop
    actor = Actor.creator(sam)
    revoke = revoke_bootcamp(member, bootcamp, people)
    services.revoke_grant(grant=grant_of(people[0], vault), actor=actor, reason="Refund")
    again = services.grant_offer(contact=people[1], offer=bootcamp, actor=actor).obj

    counted, bulk = undo(member, revoke)
    assert counted.skipped == Counter({"has this offer again": 1})
    assert grant_of(people[0], vault).status == AccessStatus.REVOKED  # revoked by hand
    assert grant_of(people[2], vault).status == AccessStatus.ACTIVE
    restored = Grant.objects.filter(events__bulk_action=bulk)
    assert set(restored.values_list("offer", "contact")) == {
        (bootcamp.pk, people[0].pk),
        (bootcamp.pk, people[2].pk),
    }
    assert people[1].grants.filter(offer=bootcamp, status=AccessStatus.ACTIVE).get() == again


def test_a_product_revoked_since_counts_as_changed(shop):
    member, sam, bootcamp, vault, basics, people = shop
    grant = start(member, "grant_offer", {"offer": vault.pk}, [ContactFactory(site=member.site).pk])
    newcomer_grant = Grant.objects.get(events__bulk_action=grant)
    services.revoke_product(
        grant=newcomer_grant, product=vault.products.get(), actor=Actor.creator(sam)
    )

    counted, bulk = undo(member, grant)
    assert (counted.will_change, counted.skipped) == (
        0,
        Counter({"changed since by sam@example.com": 1}),
    )
    newcomer_grant.refresh_from_db()
    assert newcomer_grant.status == AccessStatus.ACTIVE


def test_the_undo_stores_the_contacts_the_original_changed(shop):
    member, sam, bootcamp, vault, basics, people = shop
    others = ContactFactory.create_batch(2, site=member.site)
    revoke = start(member, "revoke_offer", {"offer": bootcamp.pk}, [p.pk for p in people + others])
    assert (revoke.changed, revoke.skipped) == (3, 2)
    counted, bulk = undo(member, revoke)
    stored = BulkActionContact.objects.filter(bulk_action=bulk)
    assert set(stored.values_list("contact_id", flat=True)) == {p.pk for p in people}
    assert bulk.total == 3


def test_an_undo_chunk_costs_the_same_statements_whatever_its_size(shop, monkeypatch):
    member, sam, bootcamp, vault, basics, people = shop

    def statements(n: int) -> int:
        crowd = [c.pk for c in ContactFactory.create_batch(n, site=member.site)]
        services.grant_offer_to_contacts(
            offer=bootcamp, contact_ids=crowd, actor=Actor.creator(member.user)
        )
        revoke = start(member, "revoke_offer", {"offer": bootcamp.pk}, crowd)
        # Half of them changed since, by Sam.
        services.restore_grants(
            grant_ids=Grant.objects.filter(contact_id__in=crowd[::2], offer=bootcamp).values_list(
                "pk", flat=True
            ),
            actor=Actor.creator(sam),
        )
        monkeypatch.setattr(runner, "CHUNK_SIZE", n)
        with TestCase.captureOnCommitCallbacks(execute=False) as queued:
            bulk = start_undo(site=member.site, user=member.user, original=revoke)
        with CaptureQueriesContext(connection) as captured:
            runner.run_bulk_action(bulk.pk)
        bulk.refresh_from_db()
        assert (bulk.changed, bulk.skipped) == (n // 2, n - n // 2)
        assert len(queued) == 1
        return len(captured)

    assert statements(4) == statements(40)
