"""`Set access end date` and `Remove end date` for a selection: their preview, their run,
and their Undo, which gives every grant back the end it had."""

from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from contacts.bulk.runner import start_bulk_action, start_undo
from contacts.bulk.selection import preview
from kajaccess.actors import Actor
from products.models import Offer
from purchases.access import services
from purchases.access.facts import refresh_access_facts
from purchases.models import AccessEvent, BulkAction, Grant, Subscription
from tests.factories import ContactFactory, MembershipFactory, OfferFactory, ProductFactory

pytestmark = pytest.mark.django_db


def midnight(days: int) -> datetime:
    day = timezone.localdate() + timedelta(days=days)
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


class Shop:
    """Four contacts: two hold Python Bootcamp (one ending in 60 days), one held it, one never."""

    def __init__(self):
        self.member = MembershipFactory()
        self.site = self.member.site
        self.actor = Actor.creator(self.member.user)
        product = ProductFactory(site=self.site, title="Python Basics")
        self.bootcamp = OfferFactory(site=self.site, title="Python Bootcamp", products=[product])
        self.people = ContactFactory.create_batch(4, site=self.site)
        self.ids = [p.pk for p in self.people]
        services.grant_offer_to_contacts(
            offer=self.bootcamp, contact_ids=self.ids[:3], actor=self.actor
        )
        first = self.grant(0)
        services.set_access_dates(
            grant=first, starts_at=first.starts_at, expires_at=midnight(60), actor=self.actor
        )
        services.revoke_grant(grant=self.grant(2), actor=self.actor)

    def grant(self, i: int) -> Grant:
        return self.people[i].grants.filter(offer=self.bootcamp).latest("pk")

    def ends(self) -> list:
        return [self.grant(i).expires_at for i in range(3)]

    def run(self, action: str, **params) -> BulkAction:
        params = {"offer": self.bootcamp.pk, **params}
        with TestCase.captureOnCommitCallbacks(execute=True):
            bulk = start_bulk_action(
                site=self.site,
                user=self.member.user,
                action=action,
                params=params,
                selection={"ids": self.ids},
            )
        bulk.refresh_from_db()
        return bulk

    def counted(self, action: str, params: dict, selection: dict):
        return preview(
            BulkAction(
                site=self.site,
                created_by=self.member.user,
                action=action,
                params=params,
                selection=selection,
            )
        )

    def undo(self, original: BulkAction) -> BulkAction:
        counted = self.counted(
            "undo_access_dates", {"undo_of": original.pk}, {"undo_of": original.pk}
        )
        with TestCase.captureOnCommitCallbacks(execute=True):
            bulk = start_undo(site=self.site, user=self.member.user, original=original)
        bulk.refresh_from_db()
        assert bulk.status == BulkAction.Status.DONE
        assert (counted.will_change, counted.skipped) == (
            bulk.changed,
            Counter(bulk.outcome.get("skipped", {})),
        )
        return bulk


@pytest.fixture
def shop():
    return Shop()


def test_set_end_date_previews_then_gives_the_active_grants_the_date(shop):
    end = midnight(30)
    params = {"offer": shop.bootcamp.pk, "ends_at": end.isoformat()}
    counted = shop.counted("set_end_date", params, {"ids": shop.ids})
    assert counted.will_change == 2
    assert counted.skipped == Counter({"already revoked": 1, "no such grant": 1})
    bulk = shop.run("set_end_date", ends_at=end.isoformat())
    assert (bulk.changed, bulk.skipped) == (2, 2)
    assert shop.ends() == [end, end, None]
    event = AccessEvent.objects.get(bulk_action=bulk, grant=shop.grant(1))
    assert event.details == {"expires_at": [None, end.isoformat()]}


def test_the_same_date_again_is_skipped_as_already_ending_then(shop):
    end = midnight(60)
    params = {"offer": shop.bootcamp.pk, "ends_at": end.isoformat()}
    counted = shop.counted("set_end_date", params, {"ids": shop.ids})
    assert counted.will_change == 1
    assert counted.skipped["already ends then"] == 1


def test_remove_end_date_and_its_undo_bring_the_old_end_back(shop):
    before = shop.ends()
    counted = shop.counted("remove_end_date", {"offer": shop.bootcamp.pk}, {"ids": shop.ids})
    assert counted.will_change == 1
    assert counted.skipped == Counter(
        {"has no end date": 1, "already revoked": 1, "no such grant": 1}
    )
    bulk = shop.run("remove_end_date")
    assert shop.ends() == [None, None, None]
    undo = shop.undo(bulk)
    assert undo.changed == 1
    assert shop.ends() == before


def test_undo_leaves_a_grant_whose_dates_changed_since(shop):
    end = midnight(30)
    bulk = shop.run("set_end_date", ends_at=end.isoformat())
    grant = shop.grant(1)
    later = midnight(90)
    services.set_access_dates(
        grant=grant, starts_at=grant.starts_at, expires_at=later, actor=shop.actor
    )
    undo = shop.undo(bulk)
    assert undo.changed == 1
    assert undo.outcome["skipped"] == {"dates changed since": 1}
    assert shop.ends() == [midnight(60), later, None]


OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("set_end_date"), st.integers(1, 400)),
        st.tuples(st.just("remove_end_date"), st.just(0)),
    ),
    min_size=1,
    max_size=4,
)


class EndDatesUndoProperty(HypothesisTestCase):
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(operations=OPERATIONS)
    def test_undoing_every_run_newest_first_leaves_the_dates_as_they_were(self, operations):
        shop = Shop()
        before = [(g.starts_at, g.expires_at) for g in Grant.objects.order_by("pk")]
        runs = []
        for action, days in operations:
            params = {"ends_at": midnight(days).isoformat()} if days else {}
            runs.append(shop.run(action, **params))
        for bulk in reversed(runs):
            if bulk.changed:
                shop.undo(bulk)
        after = [(g.starts_at, g.expires_at) for g in Grant.objects.order_by("pk")]
        assert after == before


# --- The popup ------------------------------------------------------------------------------


def test_the_popup_asks_for_the_offer_and_the_date_and_refuses_bad_dates(client, shop):
    client.force_login(shop.member.user)
    data = {"action": "set_end_date", "ids": shop.ids[:2], "offer": shop.bootcamp.pk}
    url = reverse("bulk:preview")
    first = client.post(
        url, {"action": "set_end_date", "ids": shop.ids[:2]}, HTTP_HX_REQUEST="true"
    )
    assert first.status_code == 200
    assert "Access ends on" in first.content.decode()
    for bad in ("2020-01-01", "9999-12-31", "not a date", ""):
        response = client.post(url, {**data, "ends_on": bad}, HTTP_HX_REQUEST="true")
        assert response.status_code == 400, bad
    start = client.post(reverse("bulk:start"), {**data, "ends_on": "1999-01-01"})
    assert start.status_code == 400
    assert shop.ends()[1] is None
    good = (timezone.localdate() + timedelta(days=10)).isoformat()
    response = client.post(url, {**data, "ends_on": good}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Will change" in response.content.decode()


def test_the_popup_says_billing_is_untouched_where_subscriptions_still_bill(client, shop):
    membership = OfferFactory(
        site=shop.site,
        title="Vault Membership",
        price=Decimal("29.00"),
        payment_type=Offer.PaymentType.SUBSCRIPTION,
        products=[ProductFactory(site=shop.site, title="The Vault")],
    )
    for contact in shop.people[:2]:
        services.grant_offer(
            contact=contact, offer=membership, actor=shop.actor, source=Grant.Source.PURCHASE
        )
    client.force_login(shop.member.user)
    ends_on = (timezone.localdate() + timedelta(days=10)).isoformat()
    data = {"ids": shop.ids, "offer": membership.pk, "ends_on": ends_on}
    for action in ("set_end_date", "remove_end_date"):
        response = client.post(reverse("bulk:preview"), {**data, "action": action})
        assert response.status_code == 200
        assert "Billing is untouched: 2 subscriptions still bill" in response.content.decode()
    Subscription.objects.filter(grant__contact=shop.people[0]).update(
        status=Subscription.Status.CANCELED
    )
    refresh_access_facts(contact_ids=[shop.people[0].pk])  # written by hand
    response = client.post(reverse("bulk:preview"), {**data, "action": "set_end_date"})
    assert "Billing is untouched: 1 subscription still bills" in response.content.decode()
    one_time = client.post(
        reverse("bulk:preview"), {**data, "offer": shop.bootcamp.pk, "action": "set_end_date"}
    )
    assert "Billing is untouched" not in one_time.content.decode()


def test_a_contact_granted_again_after_a_revoke_is_counted_once(shop):
    services.grant_offer(contact=shop.people[2], offer=shop.bootcamp, actor=shop.actor)
    params = {"offer": shop.bootcamp.pk, "ends_at": midnight(30).isoformat()}
    counted = shop.counted("set_end_date", params, {"ids": shop.ids})
    bulk = shop.run("set_end_date", ends_at=params["ends_at"])
    assert (counted.will_change, counted.skipped) == (3, Counter({"no such grant": 1}))
    assert (bulk.changed, bulk.outcome["skipped"]) == (3, {"no such grant": 1})


@pytest.mark.parametrize("swept", [False, True], ids=["not yet swept", "swept"])
def test_a_grant_whose_end_has_passed_is_skipped_as_ended_swept_or_not(shop, swept):
    grant = shop.grant(0)
    Grant.objects.filter(pk=grant.pk).update(
        starts_at=timezone.now() - timedelta(days=2), expires_at=timezone.now() - timedelta(hours=1)
    )
    refresh_access_facts(contact_ids=[grant.contact_id])
    if swept:
        services.expire_grants()
    events = AccessEvent.objects.filter(grant=grant).count()
    for action, params in (("remove_end_date", {}), ("set_end_date", {"ends_at": midnight(90)})):
        params = {k: v.isoformat() for k, v in params.items()}
        counted = shop.counted(action, {"offer": shop.bootcamp.pk, **params}, {"ids": shop.ids})
        bulk = shop.run(action, **params)
        assert counted.skipped["access already ended"] == 1
        assert bulk.outcome["skipped"]["access already ended"] == 1
        assert counted.skipped["already revoked"] == 1  # the contact revoked by hand
    assert AccessEvent.objects.filter(grant=grant).count() == events
    assert not Grant.objects.filter(pk=grant.pk, expires_at__gt=timezone.now()).exists()


def test_undo_gives_no_old_end_back_to_a_grant_whose_new_end_has_passed(shop, monkeypatch):
    end = midnight(1)
    bulk = shop.run("set_end_date", ends_at=end.isoformat())
    later = timezone.now() + timedelta(days=2)
    monkeypatch.setattr(timezone, "now", lambda: later)
    undo = shop.undo(bulk)
    # Access ended at the bulk action's date: only Restore access gives it back, recorded.
    assert (undo.changed, undo.outcome["skipped"]) == (0, {"access already ended": 2})
    assert shop.ends()[:2] == [end, end]
