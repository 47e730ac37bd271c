"""Cancel, pause and resume payments, and automations, in a real Chromium on the demo data."""

from io import StringIO

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from contacts.models import Contact, Tag
from contacts.services import add_tag
from kajaccess.actors import Actor
from purchases.models import Subscription
from tests.browser.pages import sign_in
from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo():
    call_command("seed_demo", "--contacts", "0", stdout=StringIO())


def open_purchases(page, live_server, email):
    contact = Contact.objects.get(site__slug="demo-academy", email=email)
    page.goto(f"{live_server.url}/contacts/{contact.pk}/purchases/")
    return contact


def subscription_of(page, email, offer):
    sub = Subscription.objects.get(grant__contact__email=email, grant__offer__title=offer)
    return sub, page.locator(f"#subscription-{sub.pk}")


def grant_card(page, offer):
    return page.locator("article.grant", has=page.get_by_role("heading", name=offer))


def test_pause_and_resume_adas_vault_membership(page, live_server, demo, screenshot):
    sign_in(page, live_server)
    open_purchases(page, live_server, "ada@example.com")
    sub, billing = subscription_of(page, "ada@example.com", "Vault Membership")
    expect(billing).to_contain_text("Active")
    expect(billing).to_contain_text("29.00 USD a month")
    expect(billing).to_contain_text("Next billing")
    screenshot("billing-ada-purchases")

    billing.get_by_role("link", name="Pause Payments").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text("Pause payments for “Vault Membership”?")
    expect(dialog.get_by_label("Pause indefinitely")).to_be_checked()
    screenshot("billing-pause-popup")
    dialog.get_by_role("button", name="Pause payments").click()

    expect(dialog).to_be_hidden()
    expect(page.locator("#messages")).to_contain_text(
        "Payments for “Vault Membership” paused; Ada Lovelace keeps access."
    )
    expect(billing.locator(".badge").first).to_have_text("Paused")
    expect(billing).to_contain_text("until resumed")
    # Pausing never touches access: no Access status row on the Vault Membership grant.
    expect(grant_card(page, "Vault Membership")).not_to_contain_text("Access status")
    screenshot("billing-ada-paused")
    sub.refresh_from_db()
    assert sub.status == "paused"

    billing.get_by_role("button", name="Resume Payments").click()
    expect(page.locator("#messages")).to_contain_text("Payments for “Vault Membership” resumed.")
    expect(billing.locator(".badge").first).to_have_text("Active")
    expect(billing.get_by_role("link", name="Pause Payments")).to_be_visible()
    screenshot("billing-ada-resumed")
    sub.refresh_from_db()
    assert sub.status == "active"


def test_cancel_graces_coaching_plan_stop_then_cancel_now(page, live_server, demo, screenshot):
    sign_in(page, live_server)
    open_purchases(page, live_server, "grace@example.com")
    sub, billing = subscription_of(page, "grace@example.com", "Coaching Plan")
    expect(billing).to_contain_text("Payment plan")
    expect(billing).to_contain_text("1 of 3 paid")

    billing.get_by_role("link", name="Cancel Payments").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading")).to_have_text("Cancel payments for “Coaching Plan”?")
    expect(dialog.get_by_label("End of the current billing period")).to_be_checked()
    screenshot("billing-cancel-popup")
    dialog.get_by_role("button", name="Cancel payments").click()

    expect(dialog).to_be_hidden()
    expect(billing.locator(".badge").first).to_have_text("Cancellation pending")
    expect(billing).to_contain_text("Payments stop on")
    expect(page.locator("#messages")).to_contain_text("Grace Hopper keeps access until then.")
    expect(grant_card(page, "Coaching Plan")).not_to_contain_text("Access status")
    screenshot("billing-grace-cancellation-pending")

    billing.get_by_role("button", name="Stop cancellation").click()
    expect(page.locator("#messages")).to_contain_text("Cancellation stopped")
    expect(billing.locator(".badge").first).to_have_text("Active")
    expect(billing.get_by_role("button", name="Stop cancellation")).to_have_count(0)
    sub.refresh_from_db()
    assert sub.cancel_at is None

    billing.get_by_role("link", name="Cancel Payments").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Cancel now").check()
    dialog.get_by_role("button", name="Cancel payments").click()
    expect(dialog).to_be_hidden()
    expect(billing.locator(".badge").first).to_have_text("Canceled")
    coaching = grant_card(page, "Coaching Plan")
    expect(coaching).to_contain_text("Access status")
    expect(coaching).to_contain_text("Access revoked · Revoked")
    expect(coaching).not_to_contain_text("Revoked by")
    screenshot("billing-grace-canceled")
    sub.refresh_from_db()
    assert sub.status == "canceled"


def test_a_bad_date_is_explained_in_the_popup(page, live_server, demo, screenshot):
    sign_in(page, live_server)
    open_purchases(page, live_server, "ada@example.com")
    sub, billing = subscription_of(page, "ada@example.com", "Vault Membership")
    billing.get_by_role("link", name="Cancel Payments").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("On a custom date").check()
    dialog.get_by_role("button", name="Cancel payments").click()
    expect(page.get_by_role("dialog")).to_contain_text(
        "Pick the date on which the payments should stop."
    )
    screenshot("billing-cancel-popup-error")
    sub.refresh_from_db()
    assert sub.cancel_at is None


def test_an_automation_revokes_python_bootcamp_when_refund_requested_is_added(
    page, live_server, demo, screenshot
):
    sign_in(page, live_server)
    page.get_by_role("navigation", name="Dashboard").get_by_role("link", name="Automations").click()
    expect(page.get_by_role("heading", name="Automations", exact=True)).to_be_visible()
    screenshot("automations-empty")

    page.get_by_label("When").select_option(label="A tag is added")
    expect(page.get_by_label("Offer that sets it off")).to_be_hidden()
    page.get_by_label("Tag").fill("Refund requested")
    page.get_by_label("Then").select_option(label="Revoke offer")
    page.get_by_label("Offer", exact=True).select_option(label="Python Bootcamp")
    screenshot("automations-form")
    page.get_by_role("button", name="Create automation").click()

    expect(page.locator("#messages")).to_contain_text(
        "Automation created: When tag “Refund requested” is added, revoke “Python Bootcamp”."
    )
    rule = page.locator("li.automation")
    expect(rule).to_have_count(1)
    expect(rule).to_contain_text("When tag “Refund requested” is added")
    expect(rule).to_contain_text("Revoke “Python Bootcamp”")
    expect(rule.locator(".badge")).to_have_text("Active")
    screenshot("automations-list")

    grace = Contact.objects.get(site__slug="demo-academy", email="grace@example.com")
    refund = Tag.objects.get(site=grace.site, name="Refund requested")
    add_tag(tag=refund, contact_ids=[grace.pk], actor=Actor.system())

    open_purchases(page, live_server, "grace@example.com")
    bootcamp = grant_card(page, "Python Bootcamp")
    expect(bootcamp).to_contain_text("Access status")
    expect(bootcamp).to_contain_text("Access revoked · Revoked by automation")
    screenshot("automations-grace-revoked-by-automation")
    # Billing is its own thing: the Coaching Plan still bills.
    _, billing = subscription_of(page, "grace@example.com", "Coaching Plan")
    expect(billing.locator(".badge").first).to_have_text("Active")


def test_pause_and_delete_an_automation(page, live_server, demo, screenshot):
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/automations/")
    page.get_by_label("When").select_option(label="An offer was granted")
    expect(page.get_by_label("Tag")).to_be_hidden()
    page.get_by_label("Offer that sets it off").select_option(label="30-Day Trial")
    page.get_by_label("Then").select_option(label="Grant offer")
    page.get_by_label("Offer", exact=True).select_option(label="Python Bootcamp")
    page.get_by_role("button", name="Create automation").click()
    rule = page.locator("li.automation")
    expect(rule).to_contain_text("When “30-Day Trial” is granted")

    rule.get_by_role("button", name="Pause").click()
    expect(rule.locator(".badge")).to_have_text("Paused")
    expect(page.locator("#messages")).to_contain_text("Automation paused")
    screenshot("automations-paused")
    rule.get_by_role("button", name="Resume").click()
    expect(rule.locator(".badge")).to_have_text("Active")

    rule.get_by_role("link", name="Delete").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Delete this automation?")
    screenshot("automations-delete-popup")
    dialog.get_by_role("button", name="Delete automation").click()
    expect(page.locator("li.automation")).to_have_count(0)
    expect(page.locator("#messages")).to_contain_text("Automation deleted")


def test_without_javascript_cancel_on_a_date_from_its_own_page(browser, live_server, demo):
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 860}
    )
    page = context.new_page()
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        sign_in(page, live_server)
        sub, billing = subscription_of(page, "ada@example.com", "Vault Membership")
        page.goto(f"{live_server.url}/subscriptions/{sub.pk}/")
        expect(page.get_by_role("heading", name="Vault Membership")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "billing-subscription-page.png"), full_page=True)

        billing.get_by_role("link", name="Cancel Payments").click()
        expect(page).to_have_url(
            f"{live_server.url}/subscriptions/{sub.pk}/cancel/?next=/subscriptions/{sub.pk}/"
        )
        expect(page.get_by_role("heading", level=2)).to_have_text(
            "Cancel payments for “Vault Membership”?"
        )
        page.get_by_label("On a custom date").check()
        page.get_by_label("Date the payments stop").fill("2099-01-15")
        page.screenshot(path=str(ARTIFACTS / "billing-cancel-page.png"), full_page=True)
        page.get_by_role("button", name="Cancel payments").click()

        expect(page).to_have_url(f"{live_server.url}/subscriptions/{sub.pk}/")
        expect(page.locator("#messages")).to_contain_text("will stop on Jan 15, 2099")
        expect(billing.locator(".badge").first).to_have_text("Cancellation pending")
        page.screenshot(
            path=str(ARTIFACTS / "billing-subscription-page-pending.png"), full_page=True
        )
    finally:
        context.close()
    sub.refresh_from_db()
    assert sub.cancel_at.date().isoformat() == "2099-01-15"
