"""Bulk actions through the dashboard: the action bar, the confirmation popup with its
preview, the bulk action's page, the Bulk actions tab with Undo, and Export CSV."""

import csv
import io
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from contacts.bulk.runner import run_bulk_action
from contacts.models import Contact, ContactTag, Tag
from contacts.services import contacts_recount
from kajaccess.actors import Actor
from purchases.access import services
from purchases.models import AccessEvent, AccessStatus, BulkAction, Grant
from tests.academy import build_academy
from tests.factories import ContactFactory, OfferFactory, TagFactory, UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
# Sign-in and site, the selection's validation and count, the offer, the BulkAction row;
# three times the look for access that started or ended since (nothing to bring up to date).
QUERIES_TO_START = 12


@pytest.fixture
def academy():
    """Ada holds Python Bootcamp and Vault Membership, Linus holds Python Bootcamp, Alan's
    Bootcamp was revoked one by one, Grace has nothing; Other School has its own Ada."""
    academy = build_academy()
    actor = Actor.creator(academy.creator)
    academy.linus = ContactFactory(site=academy.site, name="Linus Torvalds", email="linus@k.org")
    academy.alan = ContactFactory(site=academy.site, name="Alan Turing", email="alan@example.com")
    services.grant_offer(contact=academy.linus, offer=academy.bootcamp, actor=actor)
    alan_grant = services.grant_offer(contact=academy.alan, offer=academy.bootcamp, actor=actor)
    services.revoke_grant(grant=alan_grant.obj, actor=actor)
    return academy


@pytest.fixture
def creator_client(client, academy):
    client.force_login(academy.creator)
    return client


@pytest.fixture
def post(creator_client, django_capture_on_commit_callbacks):
    """POST as the creator; a bulk action queued by the view runs, as the worker would."""

    def send(name, data, *, args=(), htmx=True):
        with django_capture_on_commit_callbacks(execute=True):
            return creator_client.post(reverse(name, args=args), data, **(HTMX if htmx else {}))

    return send


def html(response) -> str:
    return response.content.decode()


def numbers(response) -> dict[str, int]:
    """The preview's or summary's figures: {"Selected": 5, "Will change": 2, ...}."""
    found = re.findall(r"<dt>([^<]+)</dt><dd>([\d,]+)</dd>", html(response))
    return {label: int(value.replace(",", "")) for label, value in found}


def reasons(response) -> dict[str, int]:
    found = re.findall(r"<li>([^<:]+): <strong>([\d,]+)</strong></li>", html(response))
    return {reason: int(count.replace(",", "")) for reason, count in found}


def bootcamp_status(contact) -> str:
    return contact.grants.get(offer__title="Python Bootcamp").status


def revoke_data(academy, *contacts, **extra):
    return {
        "action": "revoke_offer",
        "offer": academy.bootcamp.pk,
        "ids": [contact.pk for contact in contacts],
        **extra,
    }


def last_bulk() -> BulkAction:
    return BulkAction.objects.order_by("-pk").first()


# --- The Contacts tab's checkboxes and action bar ----------------------------------------


def test_the_contacts_tab_has_a_checkbox_per_row_and_the_action_bar(creator_client, academy):
    response = creator_client.get(reverse("contacts:list"), {"q": "a", "sort": "contact"})
    page = html(response)
    assert f'name="ids" value="{academy.ada.pk}" aria-label="Select Ada Lovelace"' in page
    assert 'aria-label="Select all contacts on this page"' in page
    assert (
        f'<form id="bulk-form" class="bulk-form" method="post" action="{reverse("bulk:preview")}"'
        in page
    )
    for label in ("Grant offer", "Revoke offer", "Add tag", "Remove tag", "Export CSV"):
        assert re.search(rf"<button [^>]*data-bulk-action>{label}</button>", page), label
    # The search travels with the selection, so "all matching" can be resolved from it.
    assert '<input type="hidden" name="query" value="q=a&amp;sort=contact">' in page
    assert "Select all" not in page.split("</noscript>")[0].split("<noscript>")[-1]


def test_select_all_matching_is_offered_when_more_contacts_match_than_the_page_shows(
    creator_client, academy
):
    ContactFactory.create_batch(12, site=academy.site)
    response = creator_client.get(reverse("contacts:list"), {"per_page": 10})
    page = html(response)
    assert "Select all 16 contacts matching this search" in page
    assert "Clear selection" in page
    assert 'data-matching="16"' in page
    one_page = html(creator_client.get(reverse("contacts:list"), {"per_page": 25}))
    assert "Select all 16 contacts matching this search" not in one_page


# --- The confirmation popup ----------------------------------------------------------------


def test_the_popup_first_asks_for_the_offer_and_changes_nothing(post, academy):
    response = post("bulk:preview", {"action": "revoke_offer", "ids": [academy.ada.pk]})
    assert response.status_code == 200
    page = html(response)
    assert '<dialog class="dialog dialog--bulk" data-autoshow' in page
    assert "Revoke offer for 1 contact?" in page
    assert "1 contact selected. Choose an offer to see what will change." in page
    assert "Show what will change" in page
    assert ">Revoke offer</button>" not in page
    assert "field-error" not in page
    # Only live offers of this site are offered.
    assert "Python Bootcamp" in page
    assert "Other Offer" not in page


def test_the_preview_counts_what_will_change_and_why_others_are_skipped(post, academy):
    data = revoke_data(
        academy, academy.ada, academy.linus, academy.alan, academy.grace, academy.other_ada
    )
    response = post("bulk:preview", data)
    assert response.status_code == 200
    assert numbers(response) == {"Selected": 5, "Will change": 2, "Skipped": 3}
    assert reasons(response) == {"Already revoked": 1, "No such grant": 1, "Not in this site": 1}
    assert "They keep their progress and are not notified." in html(response)
    assert ">Revoke offer</button>" in html(response)
    assert bootcamp_status(academy.ada) == AccessStatus.ACTIVE
    assert not BulkAction.objects.exists()


def test_the_preview_of_a_revoke_says_how_many_keep_billing(post, academy):
    data = {"action": "revoke_offer", "offer": academy.membership.pk, "ids": [academy.ada.pk]}
    response = post("bulk:preview", data)
    assert "Payments continue for 1 of them" in html(response)
    assert "revoking access does not stop payments" in html(response)
    no_billing = post("bulk:preview", revoke_data(academy, academy.ada))
    assert "Payments continue" not in html(no_billing)


def test_without_javascript_the_popup_is_a_page_of_its_own(post, academy):
    response = post("bulk:preview", revoke_data(academy, academy.ada), htmx=False)
    page = html(response)
    assert response.status_code == 200
    assert "<dialog" not in page
    assert 'aria-current="page">Contacts</a>' in page
    assert f'<form method="post" action="{reverse("bulk:start")}"' in page
    assert f'<input type="hidden" name="ids" value="{academy.ada.pk}">' in page


# --- Running each action through the views -------------------------------------------------


def test_confirming_a_revoke_runs_it_and_leads_to_its_page(post, creator_client, academy):
    data = revoke_data(
        academy, academy.ada, academy.linus, academy.alan, academy.other_ada, reason="Refunds"
    )
    response = post("bulk:start", data)
    bulk = last_bulk()
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("bulk:detail", args=[bulk.pk])
    assert bootcamp_status(academy.ada) == AccessStatus.REVOKED
    assert bootcamp_status(academy.linus) == AccessStatus.REVOKED
    assert Grant.objects.get(pk=academy.other_grant.pk).status == AccessStatus.ACTIVE
    events = AccessEvent.objects.filter(bulk_action=bulk)
    assert events.count() == 2
    assert set(events.values_list("reason", flat=True)) == {"Refunds"}

    page = creator_client.get(response["HX-Redirect"])
    assert page.status_code == 200
    text = html(page)
    assert f"#{bulk.pk} Revoke offer: Python Bootcamp" in text
    assert "Refunds" in text
    assert '<progress id="bulk-progress-bar" max="4" value="4">' in text
    assert "hx-trigger" not in text.split('id="bulk-progress"')[1].split(">")[0]
    assert numbers(page) == {"Changed": 2, "Skipped": 2, "Failed": 0}
    assert reasons(page) == {"Already revoked": 1, "Not in this site": 1}
    # Done at once here: nothing on the page may still say that it started.
    assert "started for" not in text


def test_without_javascript_confirming_redirects_to_the_bulk_actions_page(post, academy):
    response = post("bulk:start", revoke_data(academy, academy.ada), htmx=False)
    assert response.status_code == 302
    assert response.url == reverse("bulk:detail", args=[last_bulk().pk])


def test_grant_offer_through_the_views(post, academy):
    data = {
        "action": "grant_offer",
        "offer": academy.membership.pk,
        "ids": [academy.ada.pk, academy.grace.pk, academy.linus.pk],
    }
    preview = post("bulk:preview", data)
    assert numbers(preview) == {"Selected": 3, "Will change": 2, "Skipped": 1}
    assert reasons(preview) == {"Already has this offer": 1}
    post("bulk:start", data)
    holders = Grant.objects.filter(offer=academy.membership, status=AccessStatus.ACTIVE)
    assert set(holders.values_list("contact__name", flat=True)) == {
        "Ada Lovelace",
        "Grace Hopper",
        "Linus Torvalds",
    }
    assert last_bulk().changed == 2


def test_add_and_remove_tag_through_the_views(post, academy):
    ids = [academy.ada.pk, academy.grace.pk]
    preview = post("bulk:preview", {"action": "add_tag", "tag": " vip ", "ids": ids})
    assert numbers(preview) == {"Selected": 2, "Will change": 1, "Skipped": 1}
    assert reasons(preview) == {"Already tagged": 1}
    assert '<datalist id="site-tags"><option value="VIP"></option></datalist>' in html(preview)
    post("bulk:start", {"action": "add_tag", "tag": "vip", "ids": ids})
    assert set(Tag.objects.get(site=academy.site).contacts.all()) == {academy.ada, academy.grace}

    post("bulk:start", {"action": "add_tag", "tag": "Spring cohort", "ids": ids})
    assert academy.grace.tags.filter(name="Spring cohort").exists()

    data = {"action": "remove_tag", "tag": "VIP", "ids": [academy.grace.pk, academy.linus.pk]}
    assert reasons(post("bulk:preview", data)) == {"Not tagged": 1}
    post("bulk:start", data)
    assert not academy.grace.tags.filter(name="VIP").exists()
    assert academy.ada.tags.filter(name="VIP").exists()


# --- Page selection, all matching, filters ---------------------------------------------------


def test_all_matching_acts_on_the_search_and_filters_not_on_the_page(post, academy):
    vip = Tag.objects.get(site=academy.site, name="VIP")
    for contact in ContactFactory.create_batch(3, site=academy.site):
        contact.tags.add(vip)
    outsider = ContactFactory(site=academy.site)  # matches the search, not the tag
    query = f"q=example.com&tag={vip.pk}&page=2&sort=-created_at&per_page=10"

    data = {"action": "add_tag", "tag": "Cohort", "select_all": "on", "query": query}
    preview = post("bulk:preview", data)
    assert numbers(preview)["Selected"] == 4  # Ada and the three others tagged VIP
    post("bulk:start", data)

    bulk = last_bulk()
    assert bulk.selection == {"all": True, "query": f"q=example.com&tag={vip.pk}"}
    tagged = set(Contact.objects.filter(tags__name="Cohort").values_list("pk", flat=True))
    assert tagged == set(vip.contacts.values_list("pk", flat=True))
    assert outsider.pk not in tagged


def test_checked_ids_act_only_on_those_contacts_even_with_a_search(post, academy):
    data = revoke_data(academy, academy.ada, query="q=Linus")
    post("bulk:start", data)
    assert bootcamp_status(academy.ada) == AccessStatus.REVOKED
    assert bootcamp_status(academy.linus) == AccessStatus.ACTIVE


def test_all_matching_a_search_never_reaches_another_site(post, academy):
    data = {"action": "add_tag", "tag": "Lovelaces", "select_all": "on", "query": "q=Lovelace"}
    assert numbers(post("bulk:preview", data))["Selected"] == 1
    post("bulk:start", data)
    assert list(Contact.objects.filter(tags__name="Lovelaces")) == [academy.ada]


# --- Above 100 contacts the number must be typed -----------------------------------------------


def test_above_100_contacts_the_creator_types_their_number(post, academy):
    batch = ContactFactory.create_batch(101, site=academy.site)
    data = {"action": "add_tag", "tag": "Cohort", "ids": [c.pk for c in batch]}

    preview = post("bulk:preview", data)
    assert "Type 101 to confirm" in html(preview)

    missing = post("bulk:start", data)
    wrong = post("bulk:start", {**data, "confirm_count": "100"})
    for response in (missing, wrong):
        assert response.status_code == 400
        assert "Type 101, the number of selected contacts, to confirm." in html(response)
    assert not BulkAction.objects.exists()
    assert not ContactTag.objects.filter(tag__name="Cohort").exists()

    right = post("bulk:start", {**data, "confirm_count": "101"})
    assert right.status_code == 200
    assert ContactTag.objects.filter(tag__name="Cohort").count() == 101


def test_thousands_are_shown_in_groups_and_typed_with_or_without_them(post, academy):
    Contact.objects.bulk_create(
        Contact(site=academy.site, email=f"learner{n}@example.com") for n in range(1_196)
    )
    contacts_recount(site=academy.site)
    data = {"action": "add_tag", "tag": "Cohort", "select_all": "on", "query": ""}
    preview = post("bulk:preview", data)
    assert "<dt>Selected</dt><dd>1,200</dd>" in html(preview)
    assert "Type 1,200 to confirm" in html(preview)
    wrong = post("bulk:start", {**data, "confirm_count": "120"})
    assert "Type 1,200, the number of selected contacts, to confirm." in html(wrong)
    assert post("bulk:start", {**data, "confirm_count": "1,200"}).status_code == 200
    assert ContactTag.objects.filter(tag__name="Cohort").count() == 1_200


def test_up_to_100_contacts_need_no_typed_number(post, academy):
    batch = ContactFactory.create_batch(96, site=academy.site)  # 100 with the academy's four
    data = {"action": "add_tag", "tag": "Cohort", "select_all": "on", "query": ""}
    preview = post("bulk:preview", data)
    assert numbers(preview)["Selected"] == 100
    assert "to confirm" not in html(preview)
    assert post("bulk:start", data).status_code == 200
    assert ContactTag.objects.filter(tag__name="Cohort").count() == 100
    assert len(batch) == 96


# --- Bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "delete_everything", "ids": ["1"]}, "Choose one of the bulk actions"),
        ({"action": "revoke_offer"}, "Select at least one contact."),
        ({"action": "revoke_offer", "ids": ["12", "abc"]}, "could not be read"),
        ({"action": "revoke_offer", "ids": ["99999999999999999999999"]}, "could not be read"),
        ({"action": "revoke_offer", "ids": [str(n) for n in range(1, 502)]}, "at most 500"),
        (
            {"action": "revoke_offer", "select_all": "on", "query": "offer=999999"},
            "can no longer be used",
        ),
    ],
)
@pytest.mark.parametrize("url", ["bulk:preview", "bulk:start"])
def test_a_bad_selection_is_refused_with_a_clear_message(post, academy, url, data, message):
    before = AccessEvent.objects.count()
    response = post(url, data)
    assert response.status_code == 400
    assert message in html(response)
    assert "Nothing was changed" in html(response)
    assert not BulkAction.objects.exists()
    assert AccessEvent.objects.count() == before


def test_a_request_too_large_to_read_is_a_400_not_a_500(post, academy):
    ids = [str(n) for n in range(1, 1500)]
    response = post("bulk:start", {"action": "revoke_offer", "ids": ids})
    assert response.status_code == 400
    assert not BulkAction.objects.exists()


def test_an_offer_of_another_site_or_a_deleted_one_is_refused(post, academy):
    deleted = OfferFactory(site=academy.site, title="Old Offer", deleted_at=timezone.now())
    other_offer = academy.other_grant.offer
    for offer in (other_offer, deleted, "nope"):
        data = {"action": "grant_offer", "offer": getattr(offer, "pk", offer)}
        response = post("bulk:start", {**data, "ids": [academy.grace.pk]})
        assert response.status_code == 400
        assert "Choose one of your live offers." in html(response)
    assert not BulkAction.objects.exists()
    assert not academy.grace.grants.exists()


def test_a_missing_offer_or_tag_and_a_long_reason_are_refused(post, academy):
    no_offer = post("bulk:start", {"action": "revoke_offer", "ids": [academy.ada.pk]})
    assert no_offer.status_code == 400
    assert "Choose an offer." in html(no_offer)
    no_tag = post("bulk:start", {"action": "add_tag", "tag": "  ", "ids": [1]})
    assert no_tag.status_code == 400
    assert "Enter a tag." in html(no_tag)
    long_reason = post("bulk:start", revoke_data(academy, academy.ada, reason="x" * 501))
    assert long_reason.status_code == 400
    assert "The reason can be at most 500 characters (it has 501)." in html(long_reason)
    assert not BulkAction.objects.exists()
    assert bootcamp_status(academy.ada) == AccessStatus.ACTIVE


def test_changes_are_post_only(creator_client, academy):
    bulk = BulkAction.objects.create(site=academy.site, action="add_tag", params={"tag": "x"})
    for url in (
        reverse("bulk:preview"),
        reverse("bulk:start"),
        reverse("bulk:undo", args=[bulk.pk]),
    ):
        assert creator_client.get(url).status_code == 405, url


def test_changes_need_the_csrf_token(academy):
    client = Client(enforce_csrf_checks=True)
    client.force_login(academy.creator)
    response = client.post(reverse("bulk:start"), revoke_data(academy, academy.ada))
    assert response.status_code == 403
    assert bootcamp_status(academy.ada) == AccessStatus.ACTIVE


# --- Who may, and which site -------------------------------------------------------------------


def test_bulk_actions_are_for_members_of_the_site_only(client, academy):
    bulk = BulkAction.objects.create(site=academy.site, action="add_tag", params={"tag": "x"})
    urls = [
        reverse("bulk:history"),
        reverse("bulk:detail", args=[bulk.pk]),
        reverse("bulk:undo_confirm", args=[bulk.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 302  # to sign in
    client.force_login(academy.ada.user)  # a customer
    for url in urls:
        assert client.get(url).status_code == 404
    response = client.post(reverse("bulk:start"), revoke_data(academy, academy.ada))
    assert response.status_code == 404
    assert bootcamp_status(academy.ada) == AccessStatus.ACTIVE


def test_another_sites_bulk_action_is_a_404(client, academy):
    theirs = BulkAction.objects.create(
        site=academy.other_member.site, action="add_tag", params={"tag": "x"}
    )
    client.force_login(academy.creator)
    for name in ("bulk:detail", "bulk:undo_confirm"):
        assert client.get(reverse(name, args=[theirs.pk])).status_code == 404
        assert client.get(reverse(name, args=[theirs.pk]), **HTMX).status_code == 404
    assert client.post(reverse("bulk:undo", args=[theirs.pk])).status_code == 404
    assert f"#{theirs.pk}" not in html(client.get(reverse("bulk:history")))


# --- The Bulk actions tab and Undo -------------------------------------------------------------


def test_the_bulk_actions_tab_lists_who_when_what_selection_counts_and_status(
    post, creator_client, academy
):
    post("bulk:start", revoke_data(academy, academy.ada, academy.alan, reason="Refunds"))
    data = {"action": "add_tag", "tag": "Cohort", "select_all": "on", "query": "q=example&tag="}
    post("bulk:start", data)
    response = creator_client.get(reverse("bulk:history"))
    assert response.status_code == 200
    page = html(response)
    assert 'aria-current="page">Bulk actions</a>' in page
    revoke, tag = BulkAction.objects.order_by("pk")
    revoke_row = page.split(f'id="bulk-action-{revoke.pk}"')[1].split("</tr>")[0]
    assert "creator@example.com" in revoke_row
    assert "Revoke offer: Python Bootcamp" in revoke_row
    assert "“Refunds”" in revoke_row
    assert "2 checked contacts" in revoke_row
    assert "<strong>1</strong> changed · 1 skipped" in revoke_row
    assert "Done" in revoke_row
    assert (
        f'Undo<span class="visually-hidden"> #{revoke.pk}, Revoke offer: Python Bootcamp'
        in revoke_row
    )
    tag_row = page.split(f'id="bulk-action-{tag.pk}"')[1].split("</tr>")[0]
    assert "Add tag: Cohort" in tag_row
    assert "All matching “example”</a>" in tag_row
    assert 'href="/contacts/?q=example&amp;tag="' in tag_row
    assert "Undo" not in tag_row  # only bulk grants and revokes can be undone


def test_the_bulk_actions_tab_is_paginated(creator_client, academy):
    BulkAction.objects.bulk_create(
        BulkAction(site=academy.site, action="add_tag", params={"tag": f"T{n}"}) for n in range(30)
    )
    first = html(creator_client.get(reverse("bulk:history")))
    assert first.count('id="bulk-action-') == 25
    second = html(creator_client.get(reverse("bulk:history"), {"page": 2}))
    assert second.count('id="bulk-action-') == 5
    assert "Page 2 of 2" in second


def test_undo_restores_exactly_what_the_bulk_revoke_revoked(post, creator_client, academy):
    post("bulk:start", revoke_data(academy, academy.ada, academy.linus, academy.alan))
    revoke = last_bulk()
    # Linus got his access back one by one in the meantime.
    services.restore_access(grant=academy.linus.grants.get(), actor=Actor.creator(academy.creator))

    popup = creator_client.get(reverse("bulk:undo_confirm", args=[revoke.pk]), **HTMX)
    assert popup.status_code == 200
    assert f"Undo revoke #{revoke.pk} for 2 contacts?" in html(popup)
    assert numbers(popup) == {"Selected": 2, "Will change": 1, "Skipped": 1}
    assert reasons(popup) == {"Changed since by creator@example.com": 1}
    assert "Gives back the access that bulk action" in html(popup)

    response = post("bulk:undo", {"reason": "Wrong list"}, args=[revoke.pk])
    undo = last_bulk()
    assert response["HX-Redirect"] == reverse("bulk:detail", args=[undo.pk])
    assert (undo.action, undo.undo_of, undo.changed, undo.reason) == (
        "undo_revoke_offer",
        revoke,
        1,
        "Wrong list",
    )
    assert bootcamp_status(academy.ada) == AccessStatus.ACTIVE
    assert bootcamp_status(academy.linus) == AccessStatus.ACTIVE
    assert bootcamp_status(academy.alan) == AccessStatus.REVOKED  # revoked before, by hand

    history = html(creator_client.get(reverse("bulk:history")))
    row = history.split(f'id="bulk-action-{revoke.pk}"')[1].split("</tr>")[0]
    assert f'Undone by <a href="/bulk-actions/{undo.pk}/">#{undo.pk}</a>' in row
    assert "Undo<span" not in row
    assert f"Undo revoke #{revoke.pk}" in history

    again = post("bulk:undo", {}, args=[revoke.pk])
    assert again.status_code == 400
    assert f"Bulk action #{revoke.pk} was already undone by #{undo.pk}." in html(again)
    assert BulkAction.objects.count() == 2


def test_undo_of_a_bulk_grant_revokes_only_the_grants_it_made(post, academy):
    data = {
        "action": "grant_offer",
        "offer": academy.membership.pk,
        "ids": [academy.ada.pk, academy.grace.pk],
    }
    post("bulk:start", data)
    grant = last_bulk()
    post("bulk:undo", {}, args=[grant.pk])
    assert academy.grace.grants.get(offer=academy.membership).status == AccessStatus.REVOKED
    assert Grant.objects.get(pk=academy.vault_grant.pk).status == AccessStatus.ACTIVE


def test_undo_is_refused_for_tags_for_runs_not_done_and_for_runs_that_changed_nothing(
    creator_client, academy
):
    tag = BulkAction.objects.create(
        site=academy.site, action="add_tag", params={"tag": "x"}, status="done", changed=2
    )
    running = BulkAction.objects.create(
        site=academy.site,
        action="revoke_offer",
        params={"offer": academy.bootcamp.pk},
        status="running",
    )
    empty = BulkAction.objects.create(
        site=academy.site,
        action="revoke_offer",
        params={"offer": academy.bootcamp.pk},
        status="done",
    )
    for bulk, message in (
        (tag, "Add tag cannot be undone."),
        (running, "is still running"),
        (empty, "changed nothing"),
    ):
        for response in (
            creator_client.get(reverse("bulk:undo_confirm", args=[bulk.pk]), **HTMX),
            creator_client.post(reverse("bulk:undo", args=[bulk.pk])),
        ):
            assert response.status_code == 400
            assert message in html(response)
    assert BulkAction.objects.count() == 3


def test_undo_above_100_contacts_needs_the_typed_number(post, academy):
    batch = ContactFactory.create_batch(101, site=academy.site)
    data = {"action": "grant_offer", "offer": academy.bootcamp.pk, "ids": [c.pk for c in batch]}
    post("bulk:start", {**data, "confirm_count": "101"})
    grant = last_bulk()
    assert grant.changed == 101
    response = post("bulk:undo", {"confirm_count": "11"}, args=[grant.pk])
    assert response.status_code == 400
    assert "Type 101, the number of selected contacts, to confirm." in html(response)
    post("bulk:undo", {"confirm_count": "101"}, args=[grant.pk])
    assert last_bulk().changed == 101


# --- The progress bar -----------------------------------------------------------------------------


def test_the_progress_polls_while_the_run_goes_on_and_stops_when_done(creator_client, academy):
    bulk = BulkAction.objects.create(
        site=academy.site,
        created_by=academy.creator,
        action="revoke_offer",
        params={"offer": academy.bootcamp.pk},
        selection={"all": True, "query": ""},
        status="running",
        total=1200,
        processed=500,
    )
    url = reverse("bulk:detail", args=[bulk.pk])
    running = html(creator_client.get(url, **HTMX))
    assert f'hx-get="{url}" hx-trigger="every 1s"' in running
    assert '<progress id="bulk-progress-bar" max="1200" value="500">' in running
    assert "500 of 1,200 contacts done" in running
    assert "<html" not in running

    BulkAction.objects.filter(pk=bulk.pk).update(status="done", processed=1200, changed=1200)
    done = html(creator_client.get(url, **HTMX))
    assert "hx-trigger" not in done
    assert numbers(creator_client.get(url, **HTMX))["Changed"] == 1200


# --- Export CSV -------------------------------------------------------------------------------------


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_export_csv_streams_the_checked_contacts(creator_client, academy):
    ids = [academy.ada.pk, academy.grace.pk, academy.other_ada.pk]
    response = creator_client.post(reverse("bulk:export"), {"ids": ids})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="demo-contacts-\d{4}-\d\d-\d\d\.csv"',
        response["Content-Disposition"],
    )
    rows = csv_rows(response)
    assert rows[0] == ["Name", "Email", "Tags", "Products", "Subscriptions"]
    assert [row[:3] for row in rows[1:]] == [
        ["Ada Lovelace", "ada@example.com", "VIP"],
        ["Grace Hopper", "grace@example.com", ""],
    ]
    assert "Python Basics (active)" in rows[1][3]
    assert "Vault Membership: Active" in rows[1][4]


def test_export_csv_of_all_matching_a_search(creator_client, academy):
    url = reverse("bulk:export")
    response = creator_client.get(url, {"select_all": "on", "query": "q=example.com"})
    emails = [row[1] for row in csv_rows(response)[1:]]
    assert sorted(emails) == ["ada@example.com", "alan@example.com", "grace@example.com"]


def test_export_csv_needs_a_selection(creator_client, academy):
    response = creator_client.post(reverse("bulk:export"), {"query": "q=ada"})
    assert response.status_code == 400
    assert "Select at least one contact." in html(response)


# --- Query counts -------------------------------------------------------------------------------------


def make_history(academy, n):
    tag = TagFactory(site=academy.site, name=f"Batch {n}")
    undone = BulkAction.objects.create(
        site=academy.site,
        created_by=academy.creator,
        action="revoke_offer",
        params={"offer": academy.bootcamp.pk},
        status="done",
        changed=1,
    )
    rows = [
        BulkAction(
            site=academy.site,
            created_by=UserFactory(),
            action=("grant_offer", "revoke_offer", "add_tag")[i % 3],
            params={"offer": OfferFactory(site=academy.site).pk, "tag": tag.name},
            selection={"ids": [academy.ada.pk]},
            status="done",
            changed=1,
        )
        for i in range(n)
    ]
    BulkAction.objects.bulk_create(rows)
    BulkAction.objects.create(
        site=academy.site,
        action="undo_revoke_offer",
        params={"undo_of": undone.pk},
        selection={"undo_of": undone.pk},
        undo_of=undone,
    )


@pytest.mark.parametrize("n", [3, 22])
def test_the_bulk_actions_tab_runs_a_fixed_number_of_queries(
    creator_client, academy, django_assert_max_num_queries, n
):
    make_history(academy, n)
    with django_assert_max_num_queries(7):
        response = creator_client.get(reverse("bulk:history"))
    assert html(response).count('id="bulk-action-') == n + 2


@pytest.mark.parametrize("n", [2, 40])
def test_a_bulk_actions_page_and_progress_run_a_fixed_number_of_queries(
    post, creator_client, academy, django_assert_max_num_queries, n
):
    batch = ContactFactory.create_batch(n, site=academy.site)
    ids = [c.pk for c in batch] + [academy.ada.pk, academy.other_ada.pk]
    data = {"action": "grant_offer", "offer": academy.bootcamp.pk, "ids": ids}
    post("bulk:start", data)
    assert last_bulk().changed == n
    url = reverse("bulk:detail", args=[last_bulk().pk])
    with django_assert_max_num_queries(7):
        assert creator_client.get(url).status_code == 200
    with django_assert_max_num_queries(6):
        assert creator_client.get(url, **HTMX).status_code == 200


@pytest.mark.parametrize("n", [3, 600])
def test_confirming_costs_the_same_few_queries_for_any_number_of_contacts(
    creator_client, academy, django_assert_max_num_queries, n
):
    Contact.objects.bulk_create(
        Contact(site=academy.site, name=f"Bulk {i}", email=f"bulk{i}@example.com") for i in range(n)
    )
    data = {
        "action": "revoke_offer",
        "offer": academy.bootcamp.pk,
        "select_all": "on",
        "query": "q=bulk",
        "confirm_count": str(n),
    }
    with django_assert_max_num_queries(QUERIES_TO_START):
        response = creator_client.post(reverse("bulk:start"), data, **HTMX)
    assert response.status_code == 200
    assert last_bulk().total == n


def test_the_started_message_shows_while_the_run_goes_on_only(creator_client, academy):
    # Without running the queued task, the bulk action waits for its worker.
    response = creator_client.post(
        reverse("bulk:start"), revoke_data(academy, academy.ada, academy.linus), **HTMX
    )
    bulk = last_bulk()
    page = creator_client.get(response["HX-Redirect"])
    assert f"Bulk action #{bulk.pk} started for 2 contacts." in html(page)
    assert "Bulk action" not in str(list(page.context["messages"]))

    run_bulk_action(bulk.pk)
    for request in ({}, HTMX):  # the page, and its progress as it polls
        text = html(creator_client.get(reverse("bulk:detail", args=[bulk.pk]), **request))
        assert "started for" not in text
        assert "Done" in text
