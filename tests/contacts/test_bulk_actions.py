from collections import Counter

import pytest
from django.db import DatabaseError, connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from contacts.bulk import actions as bulk_actions
from contacts.bulk import runner
from contacts.bulk.runner import run_bulk_action, start_bulk_action
from contacts.bulk.selection import preview
from contacts.models import ContactTag
from kajaccess.actors import Actor
from purchases.access import services
from purchases.models import AccessEvent, AccessStatus, BulkAction, Grant
from tests.factories import (
    ContactFactory,
    MembershipFactory,
    OfferFactory,
    ProductFactory,
    SubscriptionFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    member = MembershipFactory()
    site = member.site
    product = ProductFactory(site=site, lessons=2)
    offer = OfferFactory(site=site, products=[product])
    contacts = ContactFactory.create_batch(6, site=site)
    for contact in contacts[:4]:
        services.grant_offer(contact=contact, offer=offer, actor=Actor.creator(member.user))
    return member, site, offer, contacts


def start(member, action, params, ids=None, run=True, **kwargs):
    """Start a bulk action as the worker would see it: queued after commit, then run."""
    with TestCase.captureOnCommitCallbacks(execute=run):
        return start_bulk_action(
            site=member.site,
            user=member.user,
            action=action,
            params=params,
            selection=kwargs.pop("selection", {"ids": ids}),
            **kwargs,
        )


def test_revoke_offer_changes_active_grants_and_counts_skips(shop):
    member, site, offer, contacts = shop
    services.revoke_grant(grant=contacts[3].grants.get(), actor=Actor.creator(member.user))
    stranger = ContactFactory()  # another site's contact
    ids = [c.pk for c in contacts] + [stranger.pk]

    bulk = start(member, "revoke_offer", {"offer": offer.pk}, ids, reason="Course ended")
    bulk.refresh_from_db()

    assert bulk.status == BulkAction.Status.DONE
    assert (bulk.total, bulk.changed, bulk.skipped, bulk.failed) == (7, 3, 4, 0)
    assert bulk.outcome["skipped"] == {
        "not in this site": 1,
        "already revoked": 1,
        "no such grant": 2,
    }
    assert Grant.objects.filter(offer=offer, status=AccessStatus.ACTIVE).count() == 0
    events = AccessEvent.objects.filter(kind=AccessEvent.Kind.REVOKED, bulk_action=bulk)
    assert events.count() == 3
    assert set(events.values_list("reason", flat=True)) == {"Course ended"}


def test_preview_counts_before_anything_changes(shop):
    member, site, offer, contacts = shop
    SubscriptionFactory(grant=contacts[0].grants.get())
    bulk = BulkAction(
        site=site,
        created_by=member.user,
        action="revoke_offer",
        params={"offer": offer.pk},
        selection={"ids": [c.pk for c in contacts] + [10**9]},
    )
    result = preview(bulk)
    assert (result.selected, result.will_change, result.still_billing) == (7, 4, 1)
    assert result.skipped == Counter({"no such grant": 2, "not in this site": 1})
    assert Grant.objects.filter(status=AccessStatus.ACTIVE).count() == 4


def test_grant_offer_and_undo_revokes_exactly_what_it_granted(shop):
    member, site, offer, contacts = shop
    bulk = start(member, "grant_offer", {"offer": offer.pk}, [c.pk for c in contacts])
    bulk.refresh_from_db()
    assert (bulk.changed, bulk.skipped) == (2, 4)

    undo = start(
        member,
        "undo_grant_offer",
        {"undo_of": bulk.pk},
        selection={"undo_of": bulk.pk},
        undo_of=bulk,
    )
    undo.refresh_from_db()
    assert (undo.total, undo.changed) == (2, 2)
    active = set(
        Grant.objects.filter(status=AccessStatus.ACTIVE).values_list("contact_id", flat=True)
    )
    assert active == {c.pk for c in contacts[:4]}


def test_undo_revoke_restores_only_what_the_bulk_action_revoked(shop):
    member, site, offer, contacts = shop
    services.revoke_grant(grant=contacts[0].grants.get(), actor=Actor.creator(member.user))
    bulk = start(member, "revoke_offer", {"offer": offer.pk}, [c.pk for c in contacts])
    undo = start(
        member,
        "undo_revoke_offer",
        {"undo_of": bulk.pk},
        selection={"undo_of": bulk.pk},
        undo_of=bulk,
    )
    undo.refresh_from_db()
    assert undo.changed == 3
    assert contacts[0].grants.get().status == AccessStatus.REVOKED
    assert all(c.grants.get().status == AccessStatus.ACTIVE for c in contacts[1:4])


def test_add_and_remove_tag(shop):
    member, site, offer, contacts = shop
    vip = TagFactory(site=site, name="VIP")
    ContactTag.objects.create(contact=contacts[0], tag=vip)
    bulk = start(member, "add_tag", {"tag": "vip"}, [c.pk for c in contacts[:3]])
    bulk.refresh_from_db()
    assert (bulk.changed, bulk.outcome["skipped"]) == (2, {"already tagged": 1})
    assert ContactTag.objects.filter(tag=vip).count() == 3

    bulk = start(member, "remove_tag", {"tag": "VIP"}, [c.pk for c in contacts])
    bulk.refresh_from_db()
    assert (bulk.changed, bulk.outcome["skipped"]) == (3, {"not tagged": 3})
    assert not ContactTag.objects.filter(tag=vip).exists()


def test_statements_per_chunk_do_not_grow_with_its_size(shop):
    member, site, offer, contacts = shop

    def statements(n):
        people = ContactFactory.create_batch(n, site=site)
        services.grant_offer_to_contacts(
            offer=offer, contact_ids=[p.pk for p in people], actor=Actor.creator(member.user)
        )
        bulk = start(member, "revoke_offer", {"offer": offer.pk}, [p.pk for p in people], run=False)
        with CaptureQueriesContext(connection) as captured:
            run_bulk_action(bulk.pk)
        return len(captured)

    assert statements(3) == statements(60)


def test_a_rerun_after_a_failure_in_the_middle_changes_nothing_twice(shop, monkeypatch):
    member, site, offer, contacts = shop
    more = ContactFactory.create_batch(7, site=site)
    services.grant_offer_to_contacts(
        offer=offer, contact_ids=[p.pk for p in more], actor=Actor.creator(member.user)
    )
    everyone = [c.pk for c in contacts + more]
    monkeypatch.setattr(runner, "CHUNK_SIZE", 4)
    bulk = start(member, "revoke_offer", {"offer": offer.pk}, everyone, run=False)

    real = bulk_actions.RevokeOfferAction.execute
    calls = {"n": 0}

    def crash_on_second_chunk(self, ids):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("worker killed")
        return real(self, ids)

    monkeypatch.setattr(bulk_actions.RevokeOfferAction, "execute", crash_on_second_chunk)
    with pytest.raises(KeyboardInterrupt):
        run_bulk_action(bulk.pk)
    bulk.refresh_from_db()
    assert bulk.status == BulkAction.Status.RUNNING
    assert bulk.processed == 4

    monkeypatch.setattr(bulk_actions.RevokeOfferAction, "execute", real)
    run_bulk_action(bulk.pk)
    bulk.refresh_from_db()
    assert bulk.status == BulkAction.Status.DONE
    assert (bulk.processed, bulk.changed, bulk.skipped) == (13, 11, 2)
    assert AccessEvent.objects.filter(kind=AccessEvent.Kind.REVOKED).count() == 11


def test_a_database_error_rolls_the_chunk_back_and_the_job_goes_on(shop, monkeypatch):
    member, site, offer, contacts = shop
    real = bulk_actions.RevokeOfferAction.execute
    calls = {"n": 0}

    def flaky(self, ids):
        calls["n"] += 1
        result = real(self, ids)
        if calls["n"] == 1:
            raise DatabaseError("connection reset")
        return result

    monkeypatch.setattr(bulk_actions.RevokeOfferAction, "execute", flaky)
    bulk = start(member, "revoke_offer", {"offer": offer.pk}, [c.pk for c in contacts])
    bulk.refresh_from_db()
    assert (bulk.status, bulk.changed, bulk.failed) == ("done", 4, 0)
    assert AccessEvent.objects.filter(kind=AccessEvent.Kind.REVOKED).count() == 4
