"""The error path of every popup in a real Chromium: the errors show inside the popup that
was sent, with what the creator typed kept, and nothing changes."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from contacts.models import Contact
from products.models import Offer
from purchases.models import AccessEvent, BulkAction, Grant, Subscription
from tests.browser.pages import popup, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo():
    call_command("seed_demo", stdout=StringIO())


def ada() -> Contact:
    return Contact.objects.get(site__slug="demo-academy", email="ada@example.com")


def still_open(page, dialog, message: str):
    """The popup is still there, alone, showing `message`; the page behind it is intact."""
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(message)
    expect(page.get_by_role("dialog")).to_have_count(1)
    expect(page.get_by_role("navigation", name="Dashboard")).to_be_attached()


@pytest.mark.parametrize("submit", ["click", "Enter"])
def test_a_wrong_typed_count_keeps_the_bulk_popup(page, live_server, demo, screenshot, submit):
    sign_in(page, live_server)
    page.get_by_role("checkbox", name="Select all contacts on this page").check()
    page.locator("[data-select-across]").get_by_role("button", name="Select all").click()
    bar = page.get_by_role("group", name="Bulk actions")
    bar.get_by_role("button", name="Revoke offer").click()
    dialog = popup(page)
    total = Contact.objects.filter(site__slug="demo-academy").count()
    dialog.get_by_label("Offer").select_option(label="Coaching Plan")
    expect(dialog.get_by_role("definition").first).to_have_text(str(total))
    count = dialog.get_by_label(f"Type {total} to confirm")
    count.fill(str(total - 1))
    if submit == "click":
        dialog.get_by_role("button", name="Revoke offer").click()
    else:
        count.press("Enter")
    still_open(page, dialog, f"Type {total}, the number of selected contacts, to confirm.")
    expect(dialog.get_by_label(f"Type {total} to confirm")).to_have_value(str(total - 1))
    expect(dialog.get_by_label("Offer")).to_have_value(
        str(Offer.objects.get(site__slug="demo-academy", title="Coaching Plan").pk)
    )
    screenshot(f"popup-error-bulk-count-{submit.lower()}")
    assert not BulkAction.objects.exists()


def open_billing_popup(page, live_server, link: str):
    contact = ada()
    page.goto(f"{live_server.url}/contacts/{contact.pk}/purchases/")
    sub = Subscription.objects.get(grant__contact=contact, grant__offer__title="Vault Membership")
    page.locator(f"#subscription-{sub.pk}").get_by_role("link", name=link).click()
    return sub, popup(page)


def test_cancel_payments_on_a_custom_date_without_a_date(page, live_server, demo, screenshot):
    sign_in(page, live_server)
    sub, dialog = open_billing_popup(page, live_server, "Cancel Payments")
    dialog.get_by_label("On a custom date").check()
    dialog.get_by_role("button", name="Cancel payments").click()
    still_open(page, dialog, "Pick the date on which the payments should stop.")
    expect(dialog.get_by_label("On a custom date")).to_be_checked()
    screenshot("popup-error-cancel-payments")
    sub.refresh_from_db()
    assert (sub.status, sub.cancel_at) == ("active", None)


def test_pause_until_without_a_date(page, live_server, demo, screenshot):
    sign_in(page, live_server)
    sub, dialog = open_billing_popup(page, live_server, "Pause Payments")
    dialog.get_by_label("Pause until", exact=True).check()
    dialog.get_by_role("button", name="Pause payments").click()
    still_open(page, dialog, "date")
    expect(dialog.get_by_label("Pause until", exact=True)).to_be_checked()
    screenshot("popup-error-pause-payments")
    sub.refresh_from_db()
    assert sub.status == "active"


def test_a_reason_over_the_limit_keeps_the_revoke_popup(page, live_server, demo, screenshot):
    sign_in(page, live_server)
    contact = ada()
    grant = Grant.objects.get(contact=contact, offer__title="Python Bootcamp")
    page.goto(f"{live_server.url}/contacts/{contact.pk}/products/")
    page.get_by_role("link", name="More Info about Advanced Python").click()
    page.locator("#panel").get_by_role(
        "link", name="Revoke Access to the whole Offer Python Bootcamp"
    ).click()
    dialog = popup(page)
    reason = dialog.get_by_label("Reason")
    # A browser keeps to maxlength; a script or an old browser may not.
    reason.evaluate("element => element.removeAttribute('maxlength')")
    reason.fill("x" * 501)
    dialog.get_by_role("button", name="Revoke access").click()
    still_open(page, dialog, "at most 500 characters")
    expect(dialog.get_by_label("Reason")).to_have_value("x" * 501)
    screenshot("popup-error-revoke-reason")
    grant.refresh_from_db()
    assert grant.status == "active"
    assert not AccessEvent.objects.filter(grant=grant, kind="revoked").exists()


def test_granting_an_offer_deleted_meanwhile(page, live_server, demo, screenshot):
    sign_in(page, live_server)
    contact = Contact.objects.get(site__slug="demo-academy", email="grace@example.com")
    page.goto(f"{live_server.url}/contacts/{contact.pk}/")
    page.get_by_role("link", name="Grant offer").first.click()
    dialog = popup(page)
    offer = Offer.objects.get(site__slug="demo-academy", title="30-Day Trial")
    grants = Grant.objects.filter(contact=contact).count()
    dialog.get_by_label("Offer").select_option(str(offer.pk))
    Offer.objects.filter(pk=offer.pk).update(deleted_at=timezone.now())
    dialog.get_by_role("button", name="Grant offer").click()
    still_open(page, dialog, "Choose one of your live offers")
    screenshot("popup-error-grant-deleted-offer")
    assert Grant.objects.filter(contact=contact).count() == grants


def test_a_wrong_typed_count_keeps_the_undo_popup(page, live_server, demo, screenshot):
    from django.contrib.auth import get_user_model

    from contacts.bulk.runner import start_bulk_action

    site_contacts = Contact.objects.filter(site__slug="demo-academy")
    site = site_contacts.first().site
    creator = get_user_model().objects.get(email="creator@example.com")
    trial = Offer.objects.get(site=site, title="30-Day Trial")
    bulk = start_bulk_action(
        site=site,
        user=creator,
        action="grant_offer",
        params={"offer": trial.pk},
        selection={"all": True, "query": ""},
    )
    bulk.refresh_from_db()
    assert bulk.changed > 100
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/bulk-actions/")
    page.get_by_role("link", name="Undo").first.click()
    dialog = popup(page)
    label = f"Type {bulk.changed} to confirm"
    dialog.get_by_label(label).fill("1")
    dialog.get_by_role("button", name="Undo grant").click()
    still_open(page, dialog, f"Type {bulk.changed}, the number of selected contacts")
    expect(dialog.get_by_label(label)).to_have_value("1")
    screenshot("popup-error-undo-count")
    assert BulkAction.objects.count() == 1


def test_a_refusal_opens_as_a_popup_with_the_roles_words(page, live_server, demo, screenshot):
    # team@example.com is an assistant: Cancel Payments is not drawn for them, but a
    # request that reaches it anyway (a stale page, another tab) says why in a popup.
    sign_in(page, live_server, "team@example.com")
    contact = ada()
    page.goto(f"{live_server.url}/contacts/{contact.pk}/purchases/")
    sub = Subscription.objects.get(grant__contact=contact, grant__offer__title="Vault Membership")
    page.evaluate(
        "url => htmx.ajax('GET', url, {target: '#dialog-slot', swap: 'innerHTML'})",
        f"/subscriptions/{sub.pk}/cancel/",
    )
    dialog = popup(page)
    expect(dialog.get_by_role("heading")).to_have_text("Your role does not allow this")
    expect(dialog).to_contain_text("Your role, Assistant, cannot cancel payments.")
    screenshot("popup-refusal")
    dialog.get_by_role("link", name="Close").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    sub.refresh_from_db()
    assert sub.status == "active"
