"""Revoke Access, Restore access and Grant offer from the dashboard; the Activity tab."""

import json
import re
from html.parser import HTMLParser

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils.http import urlencode

from contacts.bulk.runner import start_bulk_action
from kajaccess.actors import Actor
from purchases.access import services
from purchases.access.selectors import has_access
from purchases.models import AccessEvent, AccessStatus, BulkAction, Grant, ProductAccess
from tests.factories import ContactFactory, OfferFactory, ProductFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def revoke_product_urls(academy, product=None):
    args = [academy.ada.pk, academy.bootcamp_grant.pk, (product or academy.advanced).pk]
    return (
        reverse("contacts:revoke_product_confirm", args=args),
        reverse("contacts:revoke_product", args=args),
    )


def access_of(grant, product) -> ProductAccess:
    return ProductAccess.objects.get(grant=grant, product=product)


def events(**filters) -> int:
    return AccessEvent.objects.filter(**filters).count()


# --- The confirmation popup -----------------------------------------------------------


def test_revoke_access_opens_a_popup_naming_the_product_and_the_contact(creator_client, academy):
    confirm_url, action_url = revoke_product_urls(academy)
    response = creator_client.get(confirm_url, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.strip().startswith('<dialog class="dialog" data-autoshow')
    assert "Revoke access to Advanced Python for Ada Lovelace?" in html
    assert "keep their progress and are not notified" in html
    assert f'hx-post="{action_url}"' in html
    assert '<button class="button button--danger" type="submit">Revoke access</button>' in html
    assert "data-close-dialog>Cancel</a>" in html
    # Python Bootcamp was paid once: nothing keeps billing.
    assert "Payments continue" not in html


def test_without_htmx_the_popup_is_a_page_of_its_own(creator_client, academy):
    confirm_url, action_url = revoke_product_urls(academy)
    more_info = reverse("contacts:more_info", args=[academy.ada.pk, academy.advanced.pk])
    response = creator_client.get(confirm_url, {"next": more_info})
    html = response.content.decode()
    assert "<html" in html and "<dialog" not in html
    assert "Revoke access to Advanced Python for Ada Lovelace?" in html
    assert f'action="{action_url}"' in html and "hx-post" not in html
    assert f'<a class="button" href="{more_info}" data-close-dialog>Cancel</a>' in html


def test_opening_the_popup_changes_nothing(creator_client, academy):
    before = events()
    creator_client.get(revoke_product_urls(academy)[0], **HTMX)
    assert events() == before
    assert access_of(academy.bootcamp_grant, academy.advanced).status == AccessStatus.ACTIVE


def test_the_popup_warns_when_the_offer_still_bills(creator_client, academy):
    args = [academy.ada.pk, academy.vault_grant.pk]
    response = creator_client.get(reverse("contacts:revoke_confirm", args=args), **HTMX)
    html = response.content.decode()
    assert "Revoke access to Vault Membership for Ada Lovelace?" in html
    assert "Payments continue: 29.00 USD a month" in html
    subscription = academy.vault_grant.subscription
    link = reverse("contacts:purchases", args=[academy.ada.pk]) + f"#subscription-{subscription.pk}"
    assert f'href="{link}"' in html


def test_the_popup_says_the_rest_stays_open_only_while_other_products_are(creator_client, academy):
    stays_open = "The rest of Python Bootcamp stays open."
    html = creator_client.get(revoke_product_urls(academy)[0], **HTMX).content.decode()
    assert "Ada Lovelace will no longer be able to open Advanced Python." in html
    assert stays_open in html
    services.revoke_product(
        grant=academy.bootcamp_grant, product=academy.basics, actor=Actor.creator(academy.creator)
    )
    html = creator_client.get(revoke_product_urls(academy)[0], **HTMX).content.decode()
    assert "Ada Lovelace will no longer be able to open Advanced Python." in html
    assert "stays open" not in html
    # The Offer's only Product: there is no rest.
    args = [academy.ada.pk, academy.vault_grant.pk, academy.vault.pk]
    html = creator_client.get(
        reverse("contacts:revoke_product_confirm", args=args), **HTMX
    ).content.decode()
    assert "will no longer be able to open The Vault." in html and "stays open" not in html


# --- Confirming -----------------------------------------------------------------------


def test_confirming_revokes_the_product_closes_the_popup_and_says_so(creator_client, academy):
    _, action_url = revoke_product_urls(academy)
    response = creator_client.post(action_url, {"reason": "Chargeback"}, **HTMX)
    assert response.status_code == 200
    access = access_of(academy.bootcamp_grant, academy.advanced)
    assert (access.status, access.revoke_reason) == (AccessStatus.REVOKED, "Chargeback")
    assert access.revoked_by == academy.creator
    assert not has_access(academy.ada, academy.advanced)
    assert has_access(academy.ada, academy.basics)
    trigger = json.loads(response["HX-Trigger"])
    assert list(trigger) == ["accessChanged", "closeDialog"]
    html = response.content.decode()
    assert 'id="messages" hx-swap-oob="beforeend"' in html
    assert "Access to “Advanced Python” revoked for Ada Lovelace." in html
    event = AccessEvent.objects.get(kind=AccessEvent.Kind.PRODUCT_REVOKED)
    assert (event.actor, event.reason, event.product) == (
        academy.creator,
        "Chargeback",
        academy.advanced,
    )


def test_a_double_submit_changes_nothing_twice(creator_client, academy):
    _, action_url = revoke_product_urls(academy)
    creator_client.post(action_url, {"reason": ""}, **HTMX)
    again = creator_client.post(action_url, {"reason": ""}, **HTMX)
    assert again.status_code == 200
    assert "“Advanced Python” was already revoked for Ada Lovelace." in again.content.decode()
    assert events(kind=AccessEvent.Kind.PRODUCT_REVOKED) == 1


def test_without_htmx_confirming_leads_back_with_a_message(creator_client, academy):
    _, action_url = revoke_product_urls(academy)
    more_info = reverse("contacts:more_info", args=[academy.ada.pk, academy.advanced.pk])
    response = creator_client.post(action_url, {"next": more_info}, follow=True)
    assert response.redirect_chain == [(more_info, 302)]
    html = response.content.decode()
    assert "Access to “Advanced Python” revoked for Ada Lovelace." in html
    assert 'Restore access<span class="visually-hidden"> to Advanced Python' in html


def test_an_outside_next_url_is_not_followed(creator_client, academy):
    _, action_url = revoke_product_urls(academy)
    response = creator_client.post(action_url, {"next": "https://evil.example/"})
    assert response.url == reverse("contacts:purchases", args=[academy.ada.pk])


def test_a_reason_over_500_characters_is_refused_with_a_clear_message(creator_client, academy):
    _, action_url = revoke_product_urls(academy)
    response = creator_client.post(action_url, {"reason": "x" * 501}, **HTMX)
    assert response.status_code == 400
    html = response.content.decode()
    assert "<dialog" in html
    assert "The reason can be at most 500 characters (it has 501)." in html
    assert access_of(academy.bootcamp_grant, academy.advanced).status == AccessStatus.ACTIVE
    assert events(kind=AccessEvent.Kind.PRODUCT_REVOKED) == 0


def test_revoking_the_whole_offer_keeps_billing_and_progress(creator_client, academy):
    url = reverse("contacts:revoke", args=[academy.ada.pk, academy.vault_grant.pk])
    response = creator_client.post(url, {"reason": "Shared their login"}, **HTMX)
    assert response.status_code == 200
    grant = Grant.objects.get(pk=academy.vault_grant.pk)
    assert (grant.status, grant.revoked_via) == (AccessStatus.REVOKED, "creator")
    assert grant.subscription.is_billing
    assert not has_access(academy.ada, academy.vault)


def test_restore_access_brings_back_a_revoked_product(creator_client, academy):
    actor = Actor.creator(academy.creator)
    services.revoke_product(grant=academy.bootcamp_grant, product=academy.advanced, actor=actor)
    args = [academy.ada.pk, academy.bootcamp_grant.pk, academy.advanced.pk]
    popup = creator_client.get(reverse("contacts:restore_product_confirm", args=args), **HTMX)
    html = popup.content.decode()
    assert "Restore access to Advanced Python for Ada Lovelace?" in html
    assert '<button class="button button--primary" type="submit">Restore access</button>' in html
    response = creator_client.post(reverse("contacts:restore_product", args=args), **HTMX)
    assert "Access to “Advanced Python” restored for Ada Lovelace." in response.content.decode()
    assert has_access(academy.ada, academy.advanced)


def test_restoring_the_whole_offer(creator_client, academy):
    services.revoke_grant(grant=academy.bootcamp_grant, actor=Actor.creator(academy.creator))
    url = reverse("contacts:restore", args=[academy.ada.pk, academy.bootcamp_grant.pk])
    creator_client.post(url, **HTMX)
    assert has_access(academy.ada, academy.basics) and has_access(academy.ada, academy.advanced)


def test_a_service_refusal_is_shown_in_the_popup_with_a_400(creator_client, academy):
    actor = Actor.creator(academy.creator)
    services.revoke_grant(grant=academy.bootcamp_grant, actor=actor)
    services.grant_offer(contact=academy.ada, offer=academy.bootcamp, actor=actor)
    url = reverse("contacts:restore", args=[academy.ada.pk, academy.bootcamp_grant.pk])
    response = creator_client.post(url, **HTMX)
    assert response.status_code == 400
    assert "already holds “Python Bootcamp” through another grant" in response.content.decode()


def test_a_product_not_in_the_grant_is_a_404(creator_client, academy):
    args = [academy.ada.pk, academy.bootcamp_grant.pk, academy.vault.pk]
    assert (
        creator_client.get(reverse("contacts:revoke_product_confirm", args=args)).status_code == 404
    )
    assert creator_client.post(reverse("contacts:revoke_product", args=args)).status_code == 404


def test_a_grant_of_another_contact_is_a_404(creator_client, academy):
    args = [academy.grace.pk, academy.bootcamp_grant.pk]
    assert creator_client.post(reverse("contacts:revoke", args=args)).status_code == 404
    assert academy.bootcamp_grant.status == AccessStatus.ACTIVE


def test_changing_urls_refuse_get(creator_client, academy):
    grant_args = [academy.ada.pk, academy.bootcamp_grant.pk]
    product_args = [*grant_args, academy.advanced.pk]
    for url in [
        reverse("contacts:revoke", args=grant_args),
        reverse("contacts:restore", args=grant_args),
        reverse("contacts:revoke_product", args=product_args),
        reverse("contacts:restore_product", args=product_args),
        reverse("contacts:grant_offer", args=[academy.ada.pk]),
    ]:
        assert creator_client.get(url).status_code == 405, url
    assert events(kind=AccessEvent.Kind.REVOKED) == 0


def test_changes_need_the_csrf_token(academy):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(academy.creator)
    _, action_url = revoke_product_urls(academy)
    assert strict.post(action_url, {"reason": ""}).status_code == 403
    assert access_of(academy.bootcamp_grant, academy.advanced).status == AccessStatus.ACTIVE


# --- Grant offer ----------------------------------------------------------------------


def test_grant_offer_lists_only_the_sites_live_offers(creator_client, academy):
    OfferFactory(site=academy.site, title="Legacy Bundle", deleted_at="2024-01-01T00:00:00Z")
    url = reverse("contacts:grant_offer_form", args=[academy.grace.pk])
    html = creator_client.get(url, **HTMX).content.decode()
    assert "Grant an offer to Grace Hopper" in html
    assert "Python Bootcamp" in html and "Vault Membership" in html
    assert "Legacy Bundle" not in html and "Other Offer" not in html
    assert "Send the customer an email" in html
    # It opens over the Contacts tab, whose filters have an "Offer" field of their own.
    assert '<label for="grant-offer-offer">Offer</label>' in html


def test_granting_an_offer_gives_access_and_can_send_an_email(
    creator_client, academy, django_capture_on_commit_callbacks
):
    url = reverse("contacts:grant_offer", args=[academy.grace.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = creator_client.post(
            url, {"offer": academy.bootcamp.pk, "send_email": "on"}, **HTMX
        )
    assert response.status_code == 200
    assert "Grace Hopper now has “Python Bootcamp”." in response.content.decode()
    assert has_access(academy.grace, academy.basics)
    grant = Grant.objects.get(contact=academy.grace)
    assert (grant.granted_by, grant.source) == (academy.creator, Grant.Source.MANUAL)
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["grace@example.com"]
    assert email.subject == "You now have access to Python Bootcamp"
    assert "Advanced Python" in email.body and "/library/" in email.body


def test_granting_without_the_checkbox_sends_nothing(
    creator_client, academy, django_capture_on_commit_callbacks
):
    url = reverse("contacts:grant_offer", args=[academy.grace.pk])
    with django_capture_on_commit_callbacks(execute=True):
        creator_client.post(url, {"offer": academy.bootcamp.pk}, **HTMX)
    assert has_access(academy.grace, academy.basics)
    assert mail.outbox == []


def test_granting_an_offer_already_held_changes_nothing(creator_client, academy):
    url = reverse("contacts:grant_offer", args=[academy.ada.pk])
    response = creator_client.post(url, {"offer": academy.bootcamp.pk, "send_email": "on"}, **HTMX)
    assert "Ada Lovelace already has “Python Bootcamp”." in response.content.decode()
    assert Grant.objects.filter(contact=academy.ada, offer=academy.bootcamp).count() == 1
    assert mail.outbox == []


@pytest.mark.parametrize("offer", ["", "abc", "other", "deleted"])
def test_granting_a_bad_offer_is_refused_with_a_message(creator_client, academy, offer):
    values = {
        "other": academy.other_grant.offer.pk,
        "deleted": OfferFactory(site=academy.site, deleted_at="2024-01-01T00:00:00Z").pk,
    }
    url = reverse("contacts:grant_offer", args=[academy.grace.pk])
    response = creator_client.post(url, {"offer": values.get(offer, offer)}, **HTMX)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Choose the offer to grant." in html or "Choose one of your live offers." in html
    assert not Grant.objects.filter(contact=academy.grace).exists()


# --- The Activity tab -----------------------------------------------------------------


def test_the_activity_tab_lists_the_sites_events_newest_first(creator_client, academy):
    services.revoke_product(
        grant=academy.bootcamp_grant,
        product=academy.advanced,
        actor=Actor.support(academy.creator),
        reason="Chargeback",
    )
    response = creator_client.get(reverse("purchases:activity"))
    html = response.content.decode()
    assert 'aria-current="page">Activity</a>' in html
    rows = html[html.index("<tbody>") :]
    assert rows.index("Product access revoked") < rows.index("Offer granted")
    assert '<td data-label="Done by">Our support team</td>' in rows
    assert '<td data-label="Reason">Chargeback</td>' in rows
    assert "Other Offer" not in html and "ada@other.example" not in html


def test_the_activity_tab_filters_by_kind_and_actor(creator_client, academy):
    services.revoke_grant(grant=academy.vault_grant, actor=Actor.automation())
    url = reverse("purchases:activity")
    revoked = creator_client.get(url, {"kind": "revoked"}).content.decode()
    assert "Access revoked" in revoked and "Offer granted</strong>" not in revoked
    by_creator = creator_client.get(url, {"actor_kind": "creator"}).content.decode()
    assert (
        "Offer granted</strong>" in by_creator
        and '<td data-label="Done by">Automation</td>' not in by_creator
    )
    htmx = creator_client.get(url, {"actor_kind": "automation"}, **HTMX).content.decode()
    assert htmx.strip().startswith('<div id="activity-list"')
    assert '<td data-label="Done by">Automation</td>' in htmx


def test_the_activity_of_one_bulk_action_is_linked_from_its_page(
    creator_client, academy, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        bulk = start_bulk_action(
            site=academy.site,
            user=academy.creator,
            action="revoke_offer",
            params={"offer": academy.membership.pk},
            selection={"ids": [academy.ada.pk]},
            reason="Chargeback",
        )
    services.revoke_grant(grant=academy.bootcamp_grant, actor=Actor.creator(academy.creator))
    page = creator_client.get(reverse("bulk:detail", args=[bulk.pk])).content.decode()
    link = f"{reverse('purchases:activity')}?bulk_action={bulk.pk}"
    assert f'href="{link}">Its changes in Activity</a>' in page
    listed = creator_client.get(link).content.decode()
    rows = listed[listed.index("<tbody>") :]
    assert rows.count("Access revoked") == 1 and "Vault Membership" in rows
    assert "Python Bootcamp" not in rows
    assert f'Only the changes of <a href="{reverse("bulk:detail", args=[bulk.pk])}">' in listed
    other = BulkAction.objects.create(
        site=academy.other_member.site,
        created_by=academy.other_member.user,
        action="add_tag",
        params={"tag": "x"},
    )
    refused = creator_client.get(reverse("purchases:activity"), {"bulk_action": other.pk})
    assert refused.status_code == 400
    assert "No changes are listed." in refused.content.decode()


def test_a_bad_activity_filter_says_so(creator_client, academy):
    response = creator_client.get(reverse("purchases:activity"), {"kind": "deleted_everything"})
    assert response.status_code == 400
    page = response.content.decode()
    # Said once, under the filter bar, in the filter's own words, with the way out.
    said = "The “What happened” filter is set to something it does not offer."
    assert page.count(said) == 1
    assert "No changes are listed." in page
    assert '<a href="/activity/">Clear that filter</a>' in page
    assert "Select a valid choice" not in page and 'class="field-error"' not in page
    assert 'aria-invalid="true"' in page


def test_the_activity_tab_runs_a_fixed_number_of_queries(
    creator_client, academy, django_assert_max_num_queries
):
    offer = OfferFactory(site=academy.site, products=[ProductFactory(site=academy.site)])
    actor = Actor.creator(academy.creator)
    for contact in ContactFactory.create_batch(60, site=academy.site):
        grant = services.grant_offer(contact=contact, offer=offer, actor=actor).obj
        services.revoke_grant(grant=grant, actor=actor, reason="Refund")
    with django_assert_max_num_queries(8):
        response = creator_client.get(reverse("purchases:activity"), {"page": "2"})
    assert response.content.decode().count("<tr>") == 51  # the header and 50 events


ROW = re.compile(r"<strong>([^<]+)</strong>.*?<span class=\"muted\">([^<]*)</span>", re.S)


def _listed(html: str) -> list[tuple[str, str]]:
    """The Activity tab's rows as (what happened, contact's email)."""
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    return [ROW.search(row).groups() for row in body.split("<tr>")[1:]]


def _link(html: str, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)"[^>]* rel="{rel}">', html)
    return found and found.group(1).replace("&amp;", "&")


@pytest.fixture
def long_trail(academy, monkeypatch):
    """Pages of 4 changes, counted up to 5; a third of them at the very same moment."""
    monkeypatch.setattr("purchases.views.EVENTS_PER_PAGE", 4)
    monkeypatch.setattr("purchases.views.EVENTS_COUNTED", 5)
    offer = OfferFactory(site=academy.site, products=[ProductFactory(site=academy.site)])
    actor = Actor.creator(academy.creator)
    for contact in ContactFactory.create_batch(9, site=academy.site):
        services.grant_offer(contact=contact, offer=offer, actor=actor)
    trail = AccessEvent.objects.filter(site=academy.site).order_by("-at", "-pk")
    tied = list(trail.values_list("pk", flat=True)[3:9])
    AccessEvent.objects.filter(pk__in=tied).update(at=trail[3].at)
    return [(event.get_kind_display(), event.contact.email) for event in trail]


def test_the_activity_tab_pages_a_trail_too_long_to_count_by_keyset(creator_client, long_trail):
    url = reverse("purchases:activity")
    first = creator_client.get(url).content.decode()
    assert "1–4 of more than 5 changes" in first
    assert '<span aria-current="page">Page 1</span>' in first
    seen, html = [], first
    while True:
        seen += _listed(html)
        following = _link(html, "next")
        if following is None:
            break
        html = creator_client.get(following).content.decode()
    assert seen == long_trail  # every change once, newest first, ties by their order
    start = (len(long_trail) - 1) // 4 * 4 + 1
    assert f"{start}–{len(long_trail)} of more than 5 changes" in html
    last = creator_client.get(_link(first, "last")).content.decode()
    assert _listed(last) == long_trail[-4:]
    assert '<span aria-current="page">Oldest</span>' in last
    assert "4 of more than 5 changes" in last
    walked, html = [], last
    while (preceding := _link(html, "prev")) is not None:
        html = creator_client.get(preceding).content.decode()
        walked.append(_listed(html))
    # Back from the oldest four of eleven: the four before them, then the first page whole.
    assert len(long_trail) == 11
    assert walked == [long_trail[3:7], long_trail[:4]]
    assert "1–4 of more than 5 changes" in html


def test_a_forged_activity_page_link_is_refused_with_the_newest_changes(creator_client, long_trail):
    response = creator_client.get(reverse("purchases:activity"), {"page": "not-a-link"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "This page link was not made by this table" in html
    assert _listed(html) == long_trail[:4]


def test_an_activity_trail_short_enough_is_counted(creator_client, long_trail, monkeypatch):
    monkeypatch.setattr("purchases.views.EVENTS_COUNTED", 10_000)
    html = creator_client.get(reverse("purchases:activity")).content.decode()
    pages = -(-len(long_trail) // 4)
    assert f"1–4 of {len(long_trail)} changes" in html
    assert f'<span aria-current="page">Page 1 of {pages}</span>' in html


# --- Scoped to the site ---------------------------------------------------------------


def test_every_access_url_with_another_sites_ids_is_a_404(creator_client, academy):
    other = academy.other_grant
    product = academy.other_product
    other_args = [academy.other_ada.pk, other.pk]
    mixed_args = [academy.ada.pk, other.pk]
    gets = [
        reverse("contacts:revoke_confirm", args=other_args),
        reverse("contacts:restore_confirm", args=other_args),
        reverse("contacts:revoke_product_confirm", args=[*other_args, product.pk]),
        reverse("contacts:restore_product_confirm", args=[*other_args, product.pk]),
        reverse("contacts:revoke_confirm", args=mixed_args),
        reverse("contacts:grant_offer_form", args=[academy.other_ada.pk]),
    ]
    posts = [
        reverse("contacts:revoke", args=other_args),
        reverse("contacts:restore", args=other_args),
        reverse("contacts:revoke_product", args=[*other_args, product.pk]),
        reverse("contacts:restore_product", args=[*other_args, product.pk]),
        reverse("contacts:revoke", args=mixed_args),
        reverse("contacts:grant_offer", args=[academy.other_ada.pk]),
    ]
    for url in gets:
        assert creator_client.get(url).status_code == 404, url
    for url in posts:
        assert creator_client.post(url, {"offer": academy.bootcamp.pk}).status_code == 404, url
    other.refresh_from_db()
    assert other.status == AccessStatus.ACTIVE
    assert not Grant.objects.filter(contact=academy.other_ada, offer=academy.bootcamp).exists()


def test_customers_and_visitors_cannot_change_access(client, academy):
    _, action_url = revoke_product_urls(academy)
    assert client.post(action_url).status_code == 302
    client.force_login(academy.ada.user)
    assert client.post(action_url).status_code == 404
    assert client.get(reverse("purchases:activity")).status_code == 404
    assert access_of(academy.bootcamp_grant, academy.advanced).status == AccessStatus.ACTIVE


# --- The message after a change, and the way back it offers ---------------------------
STORAGES = [
    "django.contrib.messages.storage.fallback.FallbackStorage",
    "django.contrib.messages.storage.cookie.CookieStorage",
    "django.contrib.messages.storage.session.SessionStorage",
]


class Toasts(HTMLParser):
    """The toasts of a page or a partial: their words and the links in them."""

    def __init__(self, html: str):
        super().__init__()
        self.toasts: list[dict] = []
        self._depth = 0
        self._link = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "data-toast" in attrs:
            self.toasts.append({"text": "", "links": [], "attrs": attrs})
            self._depth = 1
        elif self._depth:
            self._depth += tag != "br"
            if tag == "a":
                self._link = {**attrs, "text": ""}
                self.toasts[-1]["links"].append(self._link)

    def handle_endtag(self, tag):
        if self._depth:
            self._depth -= 1
            if tag == "a":
                self._link = None

    def handle_data(self, data):
        if self._depth:
            self.toasts[-1]["text"] += data
            if self._link is not None:
                self._link["text"] += data


def only_toast(response) -> dict:
    toasts = Toasts(response.content.decode()).toasts
    assert len(toasts) == 1, toasts
    return toasts[0]


def with_next(url: str, back: str) -> str:
    return f"{url}?{urlencode({'next': back})}"


def product_args(academy, product=None):
    return [academy.ada.pk, academy.bootcamp_grant.pk, (product or academy.advanced).pk]


def test_a_revoke_offers_restore_access_through_its_popup_and_back_again(creator_client, academy):
    args = product_args(academy)
    back = reverse("contacts:more_info", args=[academy.ada.pk, academy.advanced.pk])
    response = creator_client.post(
        reverse("contacts:revoke_product", args=args), {"next": back}, **HTMX
    )
    toast = only_toast(response)
    assert "Access to “Advanced Python” revoked for Ada Lovelace." in toast["text"]
    assert "data-toast-focus" in toast["attrs"] and toast["attrs"].get("role") != "alert"
    (link,) = toast["links"]
    restore_confirm = with_next(reverse("contacts:restore_product_confirm", args=args), back)
    assert link["text"] == "Restore access to Advanced Python for Ada Lovelace"
    assert link["href"] == link["hx-get"] == restore_confirm
    assert link["hx-target"] == "#dialog-slot"

    popup = creator_client.get(link["hx-get"], **HTMX).content.decode()
    assert "Restore access to Advanced Python for Ada Lovelace?" in popup
    restore_url = reverse("contacts:restore_product", args=args)
    assert f'hx-post="{restore_url}"' in popup and f'value="{back}"' in popup

    response = creator_client.post(restore_url, {"next": back}, **HTMX)
    toast = only_toast(response)
    assert "Access to “Advanced Python” restored for Ada Lovelace." in toast["text"]
    (link,) = toast["links"]
    assert link["text"] == "Revoke access to Advanced Python for Ada Lovelace"
    assert link["href"] == with_next(reverse("contacts:revoke_product_confirm", args=args), back)


@pytest.mark.parametrize("storage", STORAGES)
def test_without_javascript_the_link_survives_the_redirect(
    creator_client, academy, settings, storage
):
    settings.MESSAGE_STORAGE = storage
    grant_args = [academy.ada.pk, academy.bootcamp_grant.pk]
    back = reverse("contacts:purchases", args=[academy.ada.pk])
    response = creator_client.post(
        reverse("contacts:revoke", args=grant_args), {"reason": "Refund"}, follow=True
    )
    assert response.redirect_chain == [(back, 302)]
    toast = only_toast(response)
    assert "Access to “Python Bootcamp” revoked for Ada Lovelace." in toast["text"]
    (link,) = toast["links"]
    assert link["text"] == "Restore access to Python Bootcamp for Ada Lovelace"
    assert link["href"] == with_next(reverse("contacts:restore_confirm", args=grant_args), back)
    # The confirmation page of the link, as the no-JS path opens it, restores.
    page = creator_client.get(link["href"])
    assert "Restore access to Python Bootcamp for Ada Lovelace?" in page.content.decode()
    creator_client.post(reverse("contacts:restore", args=grant_args), {"next": back})
    academy.bootcamp_grant.refresh_from_db()
    assert academy.bootcamp_grant.status == AccessStatus.ACTIVE


def test_a_grant_offers_revoke_for_that_grant(creator_client, academy):
    back = reverse("contacts:list")
    response = creator_client.post(
        reverse("contacts:grant_offer", args=[academy.grace.pk]),
        {"offer": academy.bootcamp.pk, "next": back},
        **HTMX,
    )
    grant = Grant.objects.get(contact=academy.grace, offer=academy.bootcamp)
    toast = only_toast(response)
    assert "Grace Hopper now has “Python Bootcamp”." in toast["text"]
    (link,) = toast["links"]
    assert link["text"] == "Revoke Python Bootcamp for Grace Hopper"
    revoke_confirm = reverse("contacts:revoke_confirm", args=[academy.grace.pk, grant.pk])
    assert link["href"] == link["hx-get"] == with_next(revoke_confirm, back)
    popup = creator_client.get(link["hx-get"], **HTMX).content.decode()
    assert "Revoke access to Python Bootcamp for Grace Hopper?" in popup


def test_nothing_changed_offers_nothing_to_undo(creator_client, academy):
    services.revoke_product(
        grant=academy.bootcamp_grant, product=academy.advanced, actor=Actor.creator(academy.creator)
    )
    response = creator_client.post(
        reverse("contacts:revoke_product", args=product_args(academy)), **HTMX
    )
    toast = only_toast(response)
    assert "“Advanced Python” was already revoked for Ada Lovelace." in toast["text"]
    assert toast["links"] == []


def test_the_words_around_the_link_stay_words(creator_client, academy):
    product = ProductFactory(site=academy.site, title="<b>Bold</b> & co")
    academy.bootcamp.products.add(product)
    grant = services.grant_offer(
        contact=academy.grace, offer=academy.bootcamp, actor=Actor.creator(academy.creator)
    ).obj
    args = [academy.grace.pk, grant.pk, product.pk]
    response = creator_client.post(reverse("contacts:revoke_product", args=args), follow=True)
    html = response.content.decode()
    assert "Access to “&lt;b&gt;Bold&lt;/b&gt; &amp; co” revoked for Grace Hopper." in html
    assert "<b>Bold</b>" not in html
    (link,) = only_toast(response)["links"]
    assert link["text"] == "Restore access to <b>Bold</b> & co for Grace Hopper"
