"""The confirmation preview: the same numbers as the run then gives, in a fixed handful
of queries whatever the selection's size."""

from collections import Counter

import pytest
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from contacts.bulk import actions as bulk_actions
from contacts.bulk import runner
from contacts.bulk.runner import start_bulk_action
from contacts.bulk.selection import preview
from contacts.models import Contact, ContactTag, Tag
from kajaccess.actors import Actor
from purchases.access import services
from purchases.models import AccessEvent, AccessStatus, BulkAction, Grant, Subscription
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
def shop(monkeypatch):
    """Twelve contacts in every state a bulk action can meet, run in chunks of 3."""
    monkeypatch.setattr(runner, "CHUNK_SIZE", 3)
    member = MembershipFactory()
    site = member.site
    actor = Actor.creator(member.user)
    offer = OfferFactory(site=site, products=[ProductFactory(site=site)])
    other_offer = OfferFactory(site=site, products=[ProductFactory(site=site)])
    people = ContactFactory.create_batch(12, site=site)
    # 0-5 hold the offer; 6 and 7 held it and were revoked; 8 holds it again after a
    # revoke; 9 holds only another offer; 10 and 11 have nothing.
    grants = {
        p.pk: services.grant_offer(contact=p, offer=offer, actor=actor).obj for p in people[:9]
    }
    for p in people[6:9]:
        services.revoke_grant(grant=grants[p.pk], actor=actor)
    services.grant_offer(contact=people[8], offer=offer, actor=actor)
    services.grant_offer(contact=people[9], offer=other_offer, actor=actor)
    # Payments go on for 0 and 1 (one past due), not for 2 (canceled) nor 6 (revoked).
    SubscriptionFactory(grant=grants[people[0].pk])
    SubscriptionFactory(grant=grants[people[1].pk], status=Subscription.Status.PAST_DUE)
    SubscriptionFactory(grant=grants[people[2].pk], status=Subscription.Status.CANCELED)
    SubscriptionFactory(grant=grants[people[6].pk])
    vip = TagFactory(site=site, name="VIP")
    for p in people[::3]:
        ContactTag.objects.create(contact=p, tag=vip)
    stranger = ContactFactory()  # a contact of another site, with the same tag name
    ContactTag.objects.create(contact=stranger, tag=TagFactory(site=stranger.site, name="VIP"))
    ids = [p.pk for p in people] + [stranger.pk, 10**9]
    return member, offer, people, ids


def start(member, action, params, selection, **kwargs) -> BulkAction:
    with TestCase.captureOnCommitCallbacks(execute=True):
        bulk = start_bulk_action(
            site=member.site,
            user=member.user,
            action=action,
            params=params,
            selection=selection,
            **kwargs,
        )
    bulk.refresh_from_db()
    return bulk


def proposed(member, action, params, selection) -> BulkAction:
    """The bulk action as the confirmation popup previews it, before it exists."""
    return BulkAction(
        site=member.site,
        created_by=member.user,
        action=action,
        params=params,
        selection=selection,
    )


def assert_run_matches(result, bulk: BulkAction):
    assert bulk.status == BulkAction.Status.DONE
    assert bulk.failed == 0
    assert (result.selected, result.will_change, result.skipped.total()) == (
        bulk.total,
        bulk.changed,
        bulk.skipped,
    )
    assert result.skipped == Counter(bulk.outcome.get("skipped", {}))


def preview_then_run(member, action, params, selection, **kwargs):
    result = preview(proposed(member, action, params, selection))
    bulk = start(member, action, params, selection, **kwargs)
    assert_run_matches(result, bulk)
    return result, bulk


def test_revoke_preview_is_what_the_run_does(shop):
    member, offer, people, ids = shop
    result, bulk = preview_then_run(member, "revoke_offer", {"offer": offer.pk}, {"ids": ids})
    assert (result.selected, result.will_change) == (14, 7)
    assert result.skipped == Counter(
        {"already revoked": 2, "no such grant": 3, "not in this site": 2}
    )
    # Revoking never stops payments: exactly the ones announced keep billing.
    revoked_by_bulk = Grant.objects.filter(events__bulk_action=bulk)
    billing = Subscription.objects.filter(
        grant__in=revoked_by_bulk,
        status__in=[Subscription.Status.ACTIVE, Subscription.Status.PAST_DUE],
    )
    assert result.still_billing == billing.count() == 2


def test_grant_preview_is_what_the_run_does(shop):
    member, offer, people, ids = shop
    result, _ = preview_then_run(member, "grant_offer", {"offer": offer.pk}, {"ids": ids})
    assert result.skipped == Counter({"already has this offer": 7, "not in this site": 2})


@pytest.mark.parametrize(
    ("action", "tag", "skipped"),
    [
        ("add_tag", "vip", {"already tagged": 4}),
        ("add_tag", "Brand new", {}),
        ("remove_tag", "VIP", {"not tagged": 8}),
        ("remove_tag", "Brand new", {"not tagged": 12}),
    ],
)
def test_tag_previews_are_what_the_runs_do(shop, action, tag, skipped):
    member, offer, people, ids = shop
    result, _ = preview_then_run(member, action, {"tag": tag}, {"ids": ids})
    assert result.skipped == Counter({**skipped, "not in this site": 2})


def test_all_matching_preview_is_what_the_run_does(shop):
    member, offer, people, ids = shop
    vip = Tag.objects.get(site=member.site, name="VIP")
    selection = {"all": True, "query": f"tag={vip.pk}&access=has_access"}
    result, _ = preview_then_run(member, "revoke_offer", {"offer": offer.pk}, selection)
    assert (result.selected, result.will_change) == (3, 2)
    assert result.skipped == Counter({"no such grant": 1})


def test_undo_revoke_preview_is_what_the_undo_does(shop):
    member, offer, people, ids = shop
    actor = Actor.creator(member.user)
    revoke = start(member, "revoke_offer", {"offer": offer.pk}, {"ids": ids})
    # Since then, 0 was restored one by one and 1 was granted the offer anew.
    services.restore_grants(grant_ids=[people[0].grants.get().pk], actor=actor)
    services.grant_offer(contact=people[1], offer=offer, actor=actor)

    undo = {"undo_of": revoke.pk}
    result, bulk = preview_then_run(member, "undo_revoke_offer", undo, undo, undo_of=revoke)
    assert (result.selected, result.will_change) == (7, 5)
    assert result.skipped == Counter(
        {f"changed since by {member.user.email}": 1, "has this offer again": 1}
    )
    assert people[1].grants.filter(status=AccessStatus.ACTIVE).count() == 1


def test_undo_grant_preview_is_what_the_undo_does(shop):
    member, offer, people, ids = shop
    grant = start(member, "grant_offer", {"offer": offer.pk}, {"ids": ids})
    services.revoke_grant(
        grant=people[10].grants.get(), actor=Actor.creator(member.user), reason="Refunded"
    )

    undo = {"undo_of": grant.pk}
    result, _ = preview_then_run(member, "undo_grant_offer", undo, undo, undo_of=grant)
    assert (result.selected, result.will_change) == (5, 4)
    assert result.skipped == Counter({f"changed since by {member.user.email}": 1})
    assert AccessEvent.objects.filter(bulk_action__action="undo_grant_offer").count() == 4


# --- Queries ----------------------------------------------------------------------------


def _crowd(member, offer, n: int) -> list[int]:
    """n contacts: a third hold the offer, a third had it revoked, a third never had it."""
    site = member.site
    made = Contact.objects.bulk_create(
        Contact(site=site, name=f"Crowd {i}", email=f"crowd{n}-{i}@example.com") for i in range(n)
    )
    ids = [c.pk for c in made]
    actor = Actor.creator(member.user)
    grants = services.grant_offer_to_contacts(
        offer=offer, contact_ids=ids[: 2 * n // 3], actor=actor
    )
    services.revoke_grants(grant_ids=[g.pk for g in grants[n // 3 :]], actor=actor)
    vip = TagFactory(site=site, name=f"VIP {n}")
    ContactTag.objects.bulk_create(ContactTag(contact_id=pk, tag=vip) for pk in ids[::2])
    return ids


def _queries(bulk: BulkAction) -> tuple[int, bulk_actions.Preview]:
    with CaptureQueriesContext(connection) as captured:
        result = preview(bulk)
    return len(captured), result


@pytest.mark.parametrize(
    ("action", "params"),
    [
        ("revoke_offer", "offer"),
        ("grant_offer", "offer"),
        ("add_tag", "tag"),
        ("remove_tag", "tag"),
    ],
)
def test_the_preview_costs_the_same_queries_for_20_and_600_contacts(action, params):
    member = MembershipFactory()
    offer = OfferFactory(site=member.site, products=[ProductFactory(site=member.site)])
    stranger = ContactFactory()
    costs = {}
    for n in (20, 600):
        ids = _crowd(member, offer, n) + [stranger.pk]
        chosen = {"offer": offer.pk} if params == "offer" else {"tag": f"vip {n}"}
        costs[n], result = _queries(proposed(member, action, chosen, {"ids": ids}))
        assert result.selected == n + 1
        assert result.skipped["not in this site"] == 1
    assert costs[20] == costs[600] <= 3


def test_the_preview_of_all_matching_costs_the_same_queries_for_20_and_600_contacts():
    member = MembershipFactory()
    offer = OfferFactory(site=member.site, products=[ProductFactory(site=member.site)])
    costs = {}
    for n in (20, 600):
        _crowd(member, offer, n)
        selection = {"all": True, "query": f"q=crowd{n}-"}
        costs[n], result = _queries(
            proposed(member, "revoke_offer", {"offer": offer.pk}, selection)
        )
        assert (result.selected, result.will_change) == (n, n // 3)
    assert costs[20] == costs[600] <= 3
