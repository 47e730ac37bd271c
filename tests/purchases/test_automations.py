"""Automations: created by creators, set off by tags, grants, failed payments and
cancellations, applied through the services as the automation actor, never in a loop."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from contacts.bulk import runner
from contacts.services import add_tag, tag_get_or_create
from kajaccess.actors import Actor
from products.models import Offer
from purchases.access import selectors, services
from purchases.automations import runner as automations_runner
from purchases.automations import services as automations
from purchases.billing import runs as billing_runs
from purchases.billing import services as billing
from purchases.models import AccessEvent, Automation, Grant, Subscription
from tests.factories import (
    ContactFactory,
    MembershipFactory,
    OfferFactory,
    ProductFactory,
    SiteFactory,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
Trigger = Automation.Trigger
Action = Automation.Action


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Signals are sent after commit: `with commit(): ...` runs them as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def offer(site, title, **fields):
    product = ProductFactory(site=site, title=f"{title} course")
    return OfferFactory(site=site, title=title, products=[product], **fields)


def automation(site, trigger, action, target, *, tag=None, on=None, active=True):
    return Automation.objects.create(
        site=site,
        trigger=trigger,
        trigger_tag=tag,
        trigger_offer=on,
        action=action,
        offer=target,
        active=active,
    )


def holds(contact, an_offer) -> bool:
    return Grant.objects.filter(contact=contact, offer=an_offer, status="active").exists()


def tab_label(contact, an_offer) -> str | None:
    grant = selectors.contact_grants(contact).filter(offer=an_offer).first()
    state = selectors.access_status(grant)
    return state and state.revoked_by


# --- What sets them off ---------------------------------------------------------------


def test_tag_added_revokes_an_offer_as_the_automation(site, creator, commit):
    bootcamp = offer(site, "Python Bootcamp")
    refund = tag_get_or_create(site=site, name="Refund requested")
    automation(site, Trigger.TAG_ADDED, Action.REVOKE_OFFER, bootcamp, tag=refund)
    ada = ContactFactory(site=site)
    services.grant_offer(contact=ada, offer=bootcamp, actor=creator)

    with commit():
        add_tag(tag=refund, contact_ids=[ada.pk], actor=creator)

    assert not holds(ada, bootcamp)
    assert tab_label(ada, bootcamp) == "Revoked by automation"
    event = AccessEvent.objects.get(kind=AccessEvent.Kind.REVOKED)
    assert (event.actor_kind, event.actor) == ("automation", None)
    assert event.reason == (
        "Automation: When tag “Refund requested” is added, revoke “Python Bootcamp”"
    )


def test_tag_added_grants_an_offer(site, creator, commit):
    vip_lounge = offer(site, "VIP Lounge")
    vip = tag_get_or_create(site=site, name="VIP")
    automation(site, Trigger.TAG_ADDED, Action.GRANT_OFFER, vip_lounge, tag=vip)
    ada = ContactFactory(site=site)
    with commit():
        add_tag(tag=vip, contact_ids=[ada.pk], actor=creator)
    grant = Grant.objects.get(contact=ada, offer=vip_lounge)
    assert (grant.source, grant.get_source_display(), grant.granted_by) == (
        "automation",
        "Granted by automation",
        None,
    )
    # The tag was there already: adding it again sets nothing off.
    with commit():
        add_tag(tag=vip, contact_ids=[ada.pk], actor=creator)
    assert AccessEvent.objects.filter(kind=AccessEvent.Kind.GRANTED).count() == 1


def test_a_bulk_tag_sets_it_off_once_per_contact_in_fixed_statements(
    site, creator, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    bootcamp = offer(site, "Python Bootcamp")
    refund = tag_get_or_create(site=site, name="Refund requested")
    automation(site, Trigger.TAG_ADDED, Action.REVOKE_OFFER, bootcamp, tag=refund)

    def customers(n):
        contacts = ContactFactory.create_batch(n, site=site)
        ids = [c.pk for c in contacts]
        services.grant_offer_to_contacts(offer=bootcamp, contact_ids=ids, actor=creator)
        return contacts

    def tag(contacts):
        with django_capture_on_commit_callbacks(execute=True):
            add_tag(tag=refund, contact_ids=[c.pk for c in contacts], actor=creator)

    few, many = customers(2), customers(25)
    # The tag, the automation, the revoke, and the contacts' access facts (and weeks) kept with it.
    with django_assert_max_num_queries(31) as counted:
        tag(few)
    with django_assert_max_num_queries(len(counted.captured_queries)):
        tag(many)
    assert not any(holds(c, bootcamp) for c in many)
    assert AccessEvent.objects.filter(kind=AccessEvent.Kind.REVOKED).count() == 27
    assert {tab_label(c, bootcamp) for c in many} == {"Revoked by automation"}


def test_payment_failed_for_an_offer(site, commit):
    vault = offer(
        site, "Vault Membership", price=Decimal("29"), payment_type=Offer.PaymentType.SUBSCRIPTION
    )
    community = offer(site, "Community")
    automation(site, Trigger.PAYMENT_FAILED, Action.REVOKE_OFFER, community, on=vault)
    ada = ContactFactory(site=site, test_card_declines=True)
    grace = ContactFactory(site=site)
    for contact in (ada, grace):
        services.grant_offer(contact=contact, offer=community, actor=Actor.system())
        services.grant_offer(
            contact=contact,
            offer=vault,
            actor=Actor.customer(None),
            source=Grant.Source.PURCHASE,
            starts_at=T0,
        )
    with commit():
        billing_runs.run_billing(now=T0)
    assert not holds(ada, community)
    assert tab_label(ada, community) == "Revoked by automation"
    assert holds(grace, community)
    # Billing and access stay apart: the failed payment itself revoked nothing.
    assert holds(ada, vault)


def test_subscription_canceled_for_an_offer(site, creator, commit):
    vault = offer(
        site, "Vault Membership", price=Decimal("29"), payment_type=Offer.PaymentType.SUBSCRIPTION
    )
    alumni = offer(site, "Alumni Newsletter", price=Decimal("0"))
    automation(site, Trigger.SUBSCRIPTION_CANCELED, Action.GRANT_OFFER, alumni, on=vault)
    ada = ContactFactory(site=site)
    grant = services.grant_offer(
        contact=ada, offer=vault, actor=creator, source=Grant.Source.PURCHASE, starts_at=T0
    ).obj
    subscription = Subscription.objects.get(grant=grant)
    with commit():
        billing.cancel_subscription(subscription=subscription, actor=creator, when="now", now=T0)
    assert holds(ada, alumni)
    assert tab_label(ada, vault) == "Revoked"


def test_offer_granted_sets_off_a_chain(site, creator, commit):
    basics, advanced, community = (offer(site, t) for t in ("Basics", "Advanced", "Community"))
    automation(site, Trigger.OFFER_GRANTED, Action.GRANT_OFFER, advanced, on=basics)
    automation(site, Trigger.OFFER_GRANTED, Action.GRANT_OFFER, community, on=advanced)
    ada = ContactFactory(site=site)
    with commit():
        services.grant_offer(contact=ada, offer=basics, actor=creator)
    assert holds(ada, advanced) and holds(ada, community)


def test_a_paused_automation_does_nothing_until_resumed(site, creator, commit):
    bootcamp = offer(site, "Python Bootcamp")
    refund = tag_get_or_create(site=site, name="Refund requested")
    vip = tag_get_or_create(site=site, name="VIP")
    rule = automation(site, Trigger.TAG_ADDED, Action.REVOKE_OFFER, bootcamp, tag=refund)
    ada, grace = ContactFactory.create_batch(2, site=site)
    services.grant_offer_to_contacts(offer=bootcamp, contact_ids=[ada.pk, grace.pk], actor=creator)

    assert automations.set_automation_active(automation=rule, active=False).changed
    with commit():
        add_tag(tag=refund, contact_ids=[ada.pk], actor=creator)
        add_tag(tag=vip, contact_ids=[grace.pk], actor=creator)
    assert holds(ada, bootcamp)

    assert automations.set_automation_active(automation=rule, active=True).changed
    assert not automations.set_automation_active(automation=rule, active=True).changed
    with commit():
        add_tag(tag=refund, contact_ids=[grace.pk], actor=creator)
    assert not holds(grace, bootcamp)
    assert holds(ada, bootcamp)


def test_a_stale_automation_is_skipped_and_the_tag_still_added(site, creator, commit):
    retired = offer(site, "Retired Offer")
    vip = tag_get_or_create(site=site, name="VIP")
    automation(site, Trigger.TAG_ADDED, Action.GRANT_OFFER, retired, tag=vip)
    retired.deleted_at = timezone.now()
    retired.save()
    ada = ContactFactory(site=site)
    with commit():
        assert add_tag(tag=vip, contact_ids=[ada.pk], actor=creator) == [ada.pk]
    assert not Grant.objects.filter(contact=ada).exists()
    assert ada.tags.filter(pk=vip.pk).exists()


def test_another_sites_automations_never_run(site, creator, commit):
    other = SiteFactory()
    other_offer = offer(other, "Their Bootcamp")
    their_tag = tag_get_or_create(site=other, name="Refund requested")
    automation(other, Trigger.TAG_ADDED, Action.GRANT_OFFER, other_offer, tag=their_tag)
    mine = tag_get_or_create(site=site, name="Refund requested")
    ada = ContactFactory(site=site)
    with commit():
        add_tag(tag=mine, contact_ids=[ada.pk], actor=creator)
    assert not Grant.objects.exists()


# --- Never in a loop ------------------------------------------------------------------


def test_a_cycle_of_grants_terminates(site, creator, commit):
    x, y = offer(site, "X"), offer(site, "Y")
    automation(site, Trigger.OFFER_GRANTED, Action.GRANT_OFFER, y, on=x)
    automation(site, Trigger.OFFER_GRANTED, Action.GRANT_OFFER, x, on=y)
    ada = ContactFactory(site=site)
    with commit():
        services.grant_offer(contact=ada, offer=x, actor=creator)
    assert holds(ada, x) and holds(ada, y)
    assert Grant.objects.filter(contact=ada).count() == 2


def test_a_revoke_and_regrant_cycle_is_bounded(site, creator, commit):
    # Each grant of X revokes and re-grants Y, and each grant of Y revokes and re-grants X:
    # without a bound this would flip the two for ever.
    x, y = offer(site, "X"), offer(site, "Y")
    automation(site, Trigger.OFFER_GRANTED, Action.REVOKE_OFFER, y, on=x)
    automation(site, Trigger.OFFER_GRANTED, Action.GRANT_OFFER, y, on=x)
    automation(site, Trigger.OFFER_GRANTED, Action.REVOKE_OFFER, x, on=y)
    automation(site, Trigger.OFFER_GRANTED, Action.GRANT_OFFER, x, on=y)
    ada = ContactFactory(site=site)
    with commit():
        services.grant_offer(contact=ada, offer=x, actor=creator)
    # Each of the four automations acted once for Ada.
    assert Grant.objects.filter(contact=ada).count() == 3  # X, then Y, then X again
    assert AccessEvent.objects.filter(actor_kind="automation").count() == 3
    assert holds(ada, x) and holds(ada, y)


@pytest.mark.django_db(transaction=True)
def test_a_cycle_terminates_with_real_commits():
    member = MembershipFactory()
    site, creator = member.site, Actor.creator(member.user)
    x, y = offer(site, "X"), offer(site, "Y")
    automation(site, Trigger.OFFER_GRANTED, Action.REVOKE_OFFER, y, on=x)
    automation(site, Trigger.OFFER_GRANTED, Action.GRANT_OFFER, y, on=x)
    automation(site, Trigger.OFFER_GRANTED, Action.REVOKE_OFFER, x, on=y)
    automation(site, Trigger.OFFER_GRANTED, Action.GRANT_OFFER, x, on=y)
    ada = ContactFactory(site=site)
    services.grant_offer(contact=ada, offer=x, actor=creator)
    assert Grant.objects.filter(contact=ada).count() == 3
    assert holds(ada, x) and holds(ada, y)


def test_a_long_chain_stops_at_its_depth(site, creator, commit):
    offers = [offer(site, f"Step {n}") for n in range(automations_runner.MAX_CHAIN_DEPTH + 4)]
    for before, after in zip(offers, offers[1:], strict=False):
        automation(site, Trigger.OFFER_GRANTED, Action.GRANT_OFFER, after, on=before)
    ada = ContactFactory(site=site)
    with commit():
        services.grant_offer(contact=ada, offer=offers[0], actor=creator)
    # The first grant, then one per level of the chain up to its depth.
    assert Grant.objects.filter(contact=ada).count() == automations_runner.MAX_CHAIN_DEPTH + 2


# --- Creating, pausing, deleting ------------------------------------------------------


def test_create_automation_with_a_new_tag(site):
    bootcamp = offer(site, "Python Bootcamp")
    rule = automations.create_automation(
        site=site,
        trigger=Trigger.TAG_ADDED,
        tag_name="  Refund   requested ",
        action=Action.REVOKE_OFFER,
        offer=bootcamp,
    )
    assert rule.trigger_tag.name == "Refund requested"
    assert rule.active
    assert automations.describe(rule) == (
        "When tag “Refund requested” is added, revoke “Python Bootcamp”"
    )
    with pytest.raises(ValidationError, match="already exists"):
        automations.create_automation(
            site=site,
            trigger=Trigger.TAG_ADDED,
            tag_name="refund requested",
            action=Action.REVOKE_OFFER,
            offer=bootcamp,
        )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"trigger": "tag_added", "tag_name": ""}, "Choose the tag"),
        ({"trigger": "payment_failed"}, "Choose the offer that sets it off"),
        ({"trigger": "offer_granted", "trigger_offer": "same"}, "cannot grant or revoke"),
        ({"trigger": "offer_granted", "trigger_offer": "other_site"}, "another site"),
        ({"trigger": "offer_granted", "trigger_offer": "deleted"}, "was deleted"),
        ({"trigger": "tag_added", "tag_name": "VIP", "offer": "deleted"}, "was deleted"),
        ({"trigger": "whenever", "tag_name": "VIP"}, "Choose what sets"),
        ({"trigger": "tag_added", "tag_name": "VIP", "action": "email"}, "Choose what"),
    ],
)
def test_create_automation_refuses_bad_input(site, fields, message):
    bootcamp = offer(site, "Python Bootcamp")
    named = {
        "same": bootcamp,
        "other_site": offer(SiteFactory(), "Elsewhere"),
        "deleted": offer(site, "Gone", deleted_at=timezone.now()),
    }
    kwargs = {"action": Action.GRANT_OFFER, "offer": bootcamp, **fields}
    for key in ("offer", "trigger_offer"):
        if isinstance(kwargs.get(key), str):
            kwargs[key] = named[kwargs[key]]
    with pytest.raises(ValidationError, match=message):
        automations.create_automation(site=site, **kwargs)
    assert not Automation.objects.exists()


def test_delete_automation_leaves_what_it_did(site, creator, commit):
    bootcamp = offer(site, "Python Bootcamp")
    refund = tag_get_or_create(site=site, name="Refund requested")
    rule = automation(site, Trigger.TAG_ADDED, Action.REVOKE_OFFER, bootcamp, tag=refund)
    ada = ContactFactory(site=site)
    services.grant_offer(contact=ada, offer=bootcamp, actor=creator)
    with commit():
        add_tag(tag=refund, contact_ids=[ada.pk], actor=creator)
    outcome = automations.delete_automation(automation=rule)
    assert outcome.changed
    assert outcome.message == (
        "Automation deleted: When tag “Refund requested” is added, revoke “Python Bootcamp”."
    )
    assert not automations.delete_automation(automation=rule).changed
    assert tab_label(ada, bootcamp) == "Revoked by automation"


@pytest.mark.django_db(transaction=True)
def test_a_bulk_add_tag_action_sets_it_off_once_per_contact(monkeypatch):
    monkeypatch.setattr(runner, "CHUNK_SIZE", 10)
    member = MembershipFactory()
    site, creator = member.site, Actor.creator(member.user)
    bootcamp = offer(site, "Python Bootcamp")
    refund = tag_get_or_create(site=site, name="Refund requested")
    automation(site, Trigger.TAG_ADDED, Action.REVOKE_OFFER, bootcamp, tag=refund)
    contacts = ContactFactory.create_batch(25, site=site)
    ids = [c.pk for c in contacts]
    services.grant_offer_to_contacts(offer=bootcamp, contact_ids=ids, actor=creator)

    bulk = runner.start_bulk_action(
        site=site,
        user=member.user,
        action="add_tag",
        params={"tag": "Refund requested"},
        selection={"ids": ids},
    )
    bulk.refresh_from_db()
    assert (bulk.status, bulk.changed) == ("done", 25)
    revokes = AccessEvent.objects.filter(kind=AccessEvent.Kind.REVOKED, actor_kind="automation")
    assert sorted(revokes.values_list("contact_id", flat=True)) == sorted(ids)
    assert {tab_label(c, bootcamp) for c in contacts} == {"Revoked by automation"}
