"""A bulk action acts on exactly the contacts the creator confirmed: they are stored when
the creator confirms, and nothing that happens before the worker runs (a tag deleted, an
offer deleted, a product taken out of the offer, contacts moved, deleted or newly
matching) changes which contacts the run touches. A filter that does not validate is a
refusal wherever it is used, never "no filter"."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from contacts.bulk.runner import start_bulk_action
from contacts.models import Contact, ContactTag, Tag
from kajaccess.actors import Actor
from purchases.access import services
from purchases.access.facts import (
    forget_access_facts,
    reconcile_access_facts,
    refresh_access_facts,
)
from purchases.models import AccessEvent, AccessStatus, BulkAction, BulkActionContact, Grant
from purchases.offers import services as offer_services
from tests.factories import (
    ContactFactory,
    MembershipFactory,
    OfferFactory,
    ProductFactory,
    SiteFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def shop(client):
    """Twelve customers of Python Bootcamp; two of them are tagged “Spring cohort”."""
    member = MembershipFactory(user=UserFactory(email="casey@example.com"))
    site = member.site
    actor = Actor.creator(member.user)
    basics, advanced = ProductFactory(site=site), ProductFactory(site=site)
    bootcamp = OfferFactory(site=site, title="Python Bootcamp", products=[basics, advanced])
    people = ContactFactory.create_batch(12, site=site)
    services.grant_offer_to_contacts(
        offer=bootcamp, contact_ids=[p.pk for p in people], actor=actor
    )
    cohort = Tag.objects.create(site=site, name="Spring cohort")
    ContactTag.objects.bulk_create(ContactTag(contact=p, tag=cohort) for p in people[:2])
    client.force_login(member.user)
    return member, bootcamp, people, cohort, basics


@pytest.fixture
def queue(client, django_capture_on_commit_callbacks):
    """Confirm in the popup; the worker's run waits until the test calls it."""

    def confirm(data):
        with django_capture_on_commit_callbacks(execute=False) as queued:
            response = client.post(reverse("bulk:start"), data, **HTMX)
        assert response.status_code == 200, response.content.decode()
        bulk = BulkAction.objects.order_by("-pk").first()

        def run() -> BulkAction:
            for callback in queued:
                callback()
            bulk.refresh_from_db()
            return bulk

        return bulk, run

    return confirm


def figures(response) -> dict[str, int]:
    found = re.findall(r"<dt>([^<]+)</dt><dd>(\d+)</dd>", response.content.decode())
    return {label: int(value) for label, value in found}


def active(offer) -> set[int]:
    grants = Grant.objects.filter(offer=offer, status=AccessStatus.ACTIVE)
    return set(grants.values_list("contact_id", flat=True))


def revoke_all_matching(offer, query: str) -> dict:
    return {"action": "revoke_offer", "offer": offer.pk, "select_all": "on", "query": query}


def test_a_tag_deleted_in_the_admin_before_the_run_revokes_only_the_two_confirmed(
    client, shop, queue
):
    member, bootcamp, people, cohort, _ = shop
    data = revoke_all_matching(bootcamp, f"tag={cohort.pk}")
    preview = client.post(reverse("bulk:preview"), data, **HTMX)
    assert figures(preview) == {"Selected": 2, "Will change": 2, "Skipped": 0}

    bulk, run = queue({**data, "previewed": "2"})
    assert bulk.total == 2
    support = Client()
    support.force_login(UserFactory(is_staff=True, is_superuser=True))
    deleted = support.post(
        reverse("admin:contacts_tag_delete", args=[cohort.pk]), {"post": "yes"}, follow=True
    )
    assert deleted.status_code == 200
    assert not Tag.objects.filter(pk=cohort.pk).exists()

    bulk = run()
    assert (bulk.status, bulk.total, bulk.processed, bulk.changed, bulk.skipped) == (
        "done",
        2,
        2,
        2,
        0,
    )
    assert active(bootcamp) == {p.pk for p in people[2:]}
    revoked = AccessEvent.objects.filter(bulk_action=bulk, kind=AccessEvent.Kind.REVOKED)
    assert set(revoked.values_list("contact_id", flat=True)) == {people[0].pk, people[1].pk}
    page = client.get(reverse("bulk:detail", args=[bulk.pk])).content.decode()
    assert "2 of 2 contacts done" in page


def test_contacts_matching_only_after_the_confirmation_are_left_alone(client, shop, queue):
    member, bootcamp, people, cohort, _ = shop
    bulk, run = queue(revoke_all_matching(bootcamp, f"tag={cohort.pk}"))
    newcomer = ContactFactory(site=member.site)
    services.grant_offer(contact=newcomer, offer=bootcamp, actor=Actor.creator(member.user))
    ContactTag.objects.bulk_create(ContactTag(contact=c, tag=cohort) for c in (newcomer, people[5]))

    bulk = run()
    assert (bulk.total, bulk.changed) == (2, 2)
    assert active(bootcamp) == {p.pk for p in people[2:]} | {newcomer.pk}


def test_an_offer_deleted_before_the_run(client, shop, queue):
    member, bootcamp, people, cohort, _ = shop
    actor = Actor.creator(member.user)
    spring = OfferFactory(site=member.site, title="Spring Bundle", products=[ProductFactory()])
    ids = [p.pk for p in people[:3]]
    grant, run_grant = queue({"action": "grant_offer", "offer": spring.pk, "ids": ids})
    revoke, run_revoke = queue(revoke_all_matching(bootcamp, f"offer={bootcamp.pk}"))
    for offer in (spring, bootcamp):
        offer_services.delete_offer(offer=offer, actor=actor)

    # A deleted offer can no longer be granted: the run says so and grants nothing.
    grant = run_grant()
    assert (grant.status, grant.changed, grant.failed) == ("done", 0, 3)
    assert grant.outcome["failed"] == {
        "“Spring Bundle” was deleted and can no longer be granted.": 3
    }
    assert not Grant.objects.filter(offer=spring).exists()
    # Its customers keep their access until revoked: the confirmed twelve, no one else.
    newcomer = ContactFactory(site=member.site)
    Grant.objects.create(site=member.site, contact=newcomer, offer=bootcamp)
    refresh_access_facts(contact_ids=[newcomer.pk])
    revoke = run_revoke()
    assert (revoke.total, revoke.changed) == (12, 12)
    assert active(bootcamp) == {newcomer.pk}


def test_a_product_taken_out_of_the_offer_before_the_run(client, shop, queue):
    member, bootcamp, people, cohort, basics = shop
    data = revoke_all_matching(bootcamp, f"product={basics.pk}")
    assert figures(client.post(reverse("bulk:preview"), data))["Selected"] == 12
    bulk, run = queue(data)
    offer_services.remove_product_from_offer(
        offer=bootcamp, product=basics, actor=Actor.creator(member.user)
    )
    # The search matches no one now; the run still acts on the twelve confirmed.
    assert figures(client.post(reverse("bulk:preview"), data))["Selected"] == 0
    bulk = run()
    assert (bulk.total, bulk.changed) == (12, 12)
    assert active(bootcamp) == set()


def test_contacts_moved_to_another_site_or_deleted_before_the_run_are_skipped(client, shop, queue):
    member, bootcamp, people, cohort, _ = shop
    ids = [p.pk for p in people[:4]]
    bulk, run = queue({"action": "revoke_offer", "offer": bootcamp.pk, "ids": ids})
    moved, deleted = people[0], people[1]
    moved.site = SiteFactory()
    moved.save(update_fields=["site"])
    forget_access_facts(contact_ids=[deleted.pk])
    Contact.objects.filter(pk=deleted.pk).delete()

    bulk = run()
    # The move was written by hand: its facts are repaired as after any such change.
    reconcile_access_facts(fix=True)
    assert (bulk.total, bulk.processed, bulk.changed, bulk.skipped) == (4, 4, 2, 2)
    assert bulk.outcome["skipped"] == {"not in this site": 1, "deleted since": 1}
    assert moved.grants.get().status == AccessStatus.ACTIVE
    assert active(bootcamp) == {p.pk for p in people if p.pk not in ids} | {moved.pk}
    # The confirmed set is kept as it was confirmed.
    stored = BulkActionContact.objects.filter(bulk_action=bulk)
    assert set(stored.values_list("contact_id", flat=True)) == set(ids)


def test_a_selection_that_changed_since_the_preview_is_refused(client, shop):
    member, bootcamp, people, cohort, _ = shop
    data = revoke_all_matching(bootcamp, f"tag={cohort.pk}")
    assert figures(client.post(reverse("bulk:preview"), data, **HTMX))["Selected"] == 2
    ContactTag.objects.create(contact=people[7], tag=cohort)

    response = client.post(reverse("bulk:start"), {**data, "previewed": "2"}, **HTMX)
    assert response.status_code == 400
    page = response.content.decode()
    assert "The selection changed since the preview: it has 3 contacts now, not 2." in page
    assert figures(response)["Selected"] == 3  # the popup shows the numbers as they are now
    assert not BulkAction.objects.exists()
    assert len(active(bootcamp)) == 12


def test_the_stored_count_is_the_confirmed_count_or_nothing_starts(shop):
    member, bootcamp, people, cohort, _ = shop
    selection = {"all": True, "query": f"tag={cohort.pk}"}
    with pytest.raises(ValidationError, match="it has 2 contacts now, not 3"):
        start_bulk_action(
            site=member.site,
            user=member.user,
            action="revoke_offer",
            params={"offer": bootcamp.pk},
            selection=selection,
            expected_total=3,
        )
    assert not BulkAction.objects.exists()
    assert not BulkActionContact.objects.exists()


# --- A filter that does not validate --------------------------------------------------------


@pytest.fixture
def stale(shop):
    """A search link naming the tag, which is deleted since."""
    member, bootcamp, people, cohort, _ = shop
    query = f"q=&tag={cohort.pk}"
    cohort.delete()
    return query


@pytest.mark.parametrize("url", ["bulk:preview", "bulk:start"])
def test_a_stale_filter_in_the_popup_is_refused(client, shop, stale, url):
    member, bootcamp, *_ = shop
    response = client.post(reverse(url), revoke_all_matching(bootcamp, stale), **HTMX)
    assert response.status_code == 400
    page = response.content.decode()
    assert "can no longer be used: That tag no longer exists." in page
    assert "Nothing was changed" in page
    assert not BulkAction.objects.exists()
    assert len(active(bootcamp)) == 12


def test_a_stale_filter_is_refused_when_the_bulk_action_starts(shop, stale):
    member, bootcamp, *_ = shop
    with pytest.raises(ValidationError, match="That tag no longer exists."):
        start_bulk_action(
            site=member.site,
            user=member.user,
            action="revoke_offer",
            params={"offer": bootcamp.pk},
            selection={"all": True, "query": stale},
        )
    assert not BulkAction.objects.exists()


def test_export_csv_refuses_a_stale_filter(client, shop, stale):
    response = client.get(reverse("bulk:export"), {"select_all": "on", "query": stale})
    assert response.status_code == 400
    assert not response.streaming
    assert "That tag no longer exists." in response.content.decode()


@pytest.mark.parametrize("htmx", [False, True])
def test_a_stale_link_to_the_contacts_tab_lists_no_one_and_says_why_once(client, shop, stale, htmx):
    response = client.get(f"{reverse('contacts:list')}?{stale}", **(HTMX if htmx else {}))
    assert response.status_code == 400
    page = response.content.decode()
    assert page.count("That tag no longer exists.") == 1
    assert '<a href="/contacts/?q=">Clear that filter</a>' in page
    assert 'id="contact-row-' not in page
    assert 'data-matching="0"' in page  # nothing to select across pages either
