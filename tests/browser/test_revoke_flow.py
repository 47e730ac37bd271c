"""The creator's main job in a real Chromium, on the demo data: find Ada, take away
Advanced Python, see what she sees, read who did it, and give it back."""

import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from contacts.models import Contact
from products.models import Product
from purchases.models import AccessEvent, AccessStatus, ProductAccess
from tests.browser.pages import sign_in

pytestmark = pytest.mark.django_db(transaction=True)

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def demo():
    call_command("seed_demo", "--contacts", "30", stdout=StringIO())


def advanced_python_access():
    return ProductAccess.objects.get(
        grant__contact__email="ada@example.com",
        grant__offer__title="Python Bootcamp",
        product__title="Advanced Python",
    )


def test_revoke_and_restore_advanced_python_for_ada(page, live_server, demo, screenshot):
    sign_in(page, live_server, "creator@example.com")
    expect(page).to_have_url(f"{live_server.url}/contacts/")
    expect(page.get_by_role("heading", name="Contacts")).to_be_visible()
    screenshot("contacts-tab")

    # Search: only the table is swapped, and the address bar keeps the search.
    page.get_by_role("searchbox", name="Search").fill("Ada")
    expect(page).to_have_url(re.compile(r"/contacts/\?q=Ada"))
    table = page.locator("#contacts-table")
    expect(table.get_by_role("link", name="Ada Lovelace")).to_be_visible()
    expect(table.get_by_role("link", name="Grace Hopper")).to_have_count(0)
    screenshot("contacts-search")
    # Back and forward show the same views again.
    page.go_back()
    expect(page).to_have_url(f"{live_server.url}/contacts/")
    expect(table.get_by_role("link", name="Grace Hopper")).to_be_visible()
    page.go_forward()
    expect(page).to_have_url(re.compile(r"/contacts/\?q=Ada"))
    expect(table.get_by_role("link", name="Grace Hopper")).to_have_count(0)

    # The preview beside the table.
    table.get_by_role("link", name="Ada Lovelace").click()
    panel = page.locator("#panel")
    expect(panel.get_by_role("heading", name="Ada Lovelace")).to_be_visible()
    total = panel.locator(".stat__value")
    expect(total).to_have_text(re.compile(r"^\d+$"))
    products_before = int(total.inner_text())
    expect(panel.get_by_text("Vault Membership", exact=True)).to_be_visible()
    expect(panel.get_by_role("link", name="Grant offer")).to_be_visible()
    expect(panel.get_by_role("link", name="Open full profile")).to_be_visible()
    screenshot("contact-preview")
    page.set_viewport_size({"width": 1024, "height": 760})
    expect(panel.get_by_role("link", name="View More")).to_be_visible()
    screenshot("contact-preview-1024")
    page.set_viewport_size({"width": 1280, "height": 860})

    panel.get_by_role("link", name="View More").click()
    expect(panel.get_by_role("heading", name="Products")).to_be_visible()
    expect(panel.get_by_text("3 of 5 lessons")).to_be_visible()
    screenshot("contact-view-more")

    panel.get_by_role("link", name="More Info about Advanced Python").click()
    expect(panel.get_by_role("heading", name="Advanced Python")).to_be_visible()
    expect(panel.get_by_role("heading", name="Python Bootcamp")).to_be_visible()
    expect(
        panel.get_by_role("link", name="Revoke Access to the whole Offer Python Bootcamp")
    ).to_be_visible()
    screenshot("contact-more-info")

    # Cancel changes nothing.
    events_before = AccessEvent.objects.count()
    revoke = panel.get_by_role("link", name="Revoke Access to Advanced Python in Python Bootcamp")
    revoke.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading")).to_have_text(
        "Revoke access to Advanced Python for Ada Lovelace?"
    )
    expect(dialog).to_contain_text("keep their progress and are not notified")
    screenshot("revoke-popup")
    dialog.get_by_role("link", name="Cancel", exact=True).click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert AccessEvent.objects.count() == events_before
    assert advanced_python_access().status == AccessStatus.ACTIVE

    # Escape changes nothing either.
    revoke.click()
    expect(page.get_by_role("dialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert AccessEvent.objects.count() == events_before

    # Confirm with a reason.
    revoke.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Reason").fill("Refund requested")
    dialog.get_by_role("button", name="Revoke access").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.locator("#messages")).to_contain_text(
        "Access to “Advanced Python” revoked for Ada Lovelace."
    )
    expect(
        panel.get_by_role("link", name="Restore access to Advanced Python in Python Bootcamp")
    ).to_be_visible()
    expect(panel.locator(".item--revoked", has_text="Advanced Python")).to_contain_text("Revoked")
    ada = Contact.objects.get(site__slug="demo-academy", email="ada@example.com")
    expect(page.locator(f"#total-products-{ada.pk}")).to_have_text(str(products_before - 1))
    screenshot("revoked-in-more-info")
    access = advanced_python_access()
    assert (access.status, access.revoke_reason) == (AccessStatus.REVOKED, "Refund requested")
    assert AccessEvent.objects.count() == events_before + 1

    # What Ada sees: Advanced Python is gone and refused, her progress elsewhere is kept.
    advanced = Product.objects.get(site__slug="demo-academy", title="Advanced Python")
    lesson = advanced.lessons.order_by("position").first()
    sign_in(page, live_server, "ada@example.com")
    expect(page.get_by_role("heading", name="Your Library")).to_be_visible()
    expect(page.locator(".library-card", has_text="Python Basics")).to_contain_text(
        "3 of 5 lessons"
    )
    expect(page.locator(".library-card", has_text="Advanced Python")).to_have_count(0)
    screenshot("library-after-revoke")
    response = page.goto(f"{live_server.url}/library/{advanced.pk}/lessons/{lesson.pk}/")
    assert response.status == 404

    # Back as the creator: the Purchases tab says who did it and why.
    sign_in(page, live_server, "creator@example.com")
    page.get_by_role("searchbox", name="Search").fill("ada@example.com")
    page.locator("#contacts-table").get_by_role("link", name="Ada Lovelace").click()
    page.locator("#panel").get_by_role("link", name="Open full profile").click()
    expect(page.get_by_role("heading", name="Ada Lovelace", level=1)).to_be_visible()
    profile_tabs = page.get_by_role("navigation", name="Profile of Ada Lovelace")
    profile_tabs.get_by_role("link", name="Purchases").click()
    bootcamp = page.locator("article.grant", has_text="Python Bootcamp")
    expect(bootcamp).to_contain_text("Access status")
    expect(bootcamp).to_contain_text("Access revoked")
    expect(bootcamp).to_contain_text("Revoked by creator@example.com")
    expect(bootcamp).to_contain_text("Refund requested")
    screenshot("purchases-tab-revoked")

    # Restore access, from the profile's Products tab.
    profile_tabs.get_by_role("link", name="Products").click()
    page.get_by_role("link", name="More Info about Advanced Python").click()
    more_info = page.locator("#panel")
    more_info.get_by_role(
        "link", name="Restore access to Advanced Python in Python Bootcamp"
    ).click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading")).to_have_text(
        "Restore access to Advanced Python for Ada Lovelace?"
    )
    screenshot("restore-popup")
    dialog.get_by_role("button", name="Restore access").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.locator("#messages")).to_contain_text(
        "Access to “Advanced Python” restored for Ada Lovelace."
    )
    expect(
        more_info.get_by_role("link", name="Revoke Access to Advanced Python in Python Bootcamp")
    ).to_be_visible()
    expect(page.locator("#profile-products .item--revoked")).to_have_count(0)
    screenshot("profile-after-restore")

    profile_tabs.get_by_role("link", name="Activity").click()
    expect(page.locator(".timeline__item").first).to_contain_text("Product access restored")
    expect(page.locator(".timeline")).to_contain_text("Reason: Refund requested")
    screenshot("profile-activity")

    sign_in(page, live_server, "ada@example.com")
    expect(page.locator(".library-card", has_text="Advanced Python")).to_be_visible()


def test_a_support_revoke_in_the_admin_reads_our_support_team(page, live_server, demo, screenshot):
    sign_in(page, live_server, "support@example.com")
    page.goto(f"{live_server.url}/admin/purchases/grant/?q=grace%40example.com")
    row = page.locator("#result_list tbody tr", has_text="Python Bootcamp")
    expect(row).to_have_count(1)
    row.locator("input.action-select").check()
    page.locator("select[name=action]").select_option(label="Revoke access")
    page.get_by_role("button", name="Go").click()
    expect(page.get_by_role("heading", name="Revoke access to 1 grant?")).to_be_visible()
    expect(page.locator("#content-main")).to_contain_text("Grace Hopper")
    page.get_by_label("Reason").fill("Refund processed by support")
    screenshot("admin-support-revoke-confirmation")
    page.get_by_role("button", name="Revoke access").click()
    expect(page.locator(".messagelist")).to_contain_text("Revoked access to 1 grant.")
    screenshot("admin-support-revoke")

    sign_in(page, live_server, "creator@example.com")
    page.get_by_role("searchbox", name="Search").fill("grace")
    page.locator("#contacts-table").get_by_role("link", name="Grace Hopper").click()
    page.locator("#panel").get_by_role("link", name="Open full profile").click()
    page.get_by_role("navigation", name="Profile of Grace Hopper").get_by_role(
        "link", name="Purchases"
    ).click()
    bootcamp = page.locator("article.grant", has_text="Python Bootcamp")
    expect(bootcamp).to_contain_text("Access revoked")
    expect(bootcamp).to_contain_text("Revoked by our support team")
    screenshot("purchases-tab-support-revoke")


def test_billing_warning_grant_offer_and_activity(page, live_server, demo, screenshot):
    sign_in(page, live_server, "creator@example.com")
    page.get_by_role("searchbox", name="Search").fill("Ada")
    page.locator("#contacts-table").get_by_role("link", name="Ada Lovelace").click()
    panel = page.locator("#panel")
    panel.get_by_role("link", name="View More").click()
    panel.get_by_role("link", name="More Info about Community Vault").click()
    revoke = panel.get_by_role("link", name="Revoke Access to the whole Offer Vault Membership")
    revoke.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Payments continue: 29.00 USD a month")
    expect(dialog.get_by_role("link", name=re.compile("cancel payments"))).to_be_visible()
    screenshot("revoke-popup-still-billing")
    dialog.get_by_role("link", name="Cancel", exact=True).click()
    expect(page.get_by_role("dialog")).to_have_count(0)

    # The same popup is a page of its own, for a bookmark or a browser without JavaScript.
    confirm_url = revoke.get_attribute("href")
    page.goto(f"{live_server.url}{confirm_url}")
    expect(page.get_by_role("heading", level=2)).to_have_text(
        "Revoke access to Vault Membership for Ada Lovelace?"
    )
    screenshot("revoke-page-without-popup")
    page.get_by_role("link", name="Cancel", exact=True).click()
    expect(page.get_by_role("heading", name="Community Vault")).to_be_visible()

    # Grant offer from the preview, for a contact without products.
    page.goto(f"{live_server.url}/contacts/")
    page.get_by_role("searchbox", name="Search").fill("alan@example.com")
    page.locator("#contacts-table").get_by_role("link", name="Alan Turing").click()
    panel.get_by_role("link", name="Grant offer").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Offer").select_option(label="Python Bootcamp")
    dialog.get_by_label("Send the customer an email").check()
    screenshot("grant-offer-popup")
    dialog.get_by_role("button", name="Grant offer").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.locator("#messages")).to_contain_text("Alan Turing now has “Python Bootcamp”.")
    expect(panel.locator(".stat__value")).to_have_text("2")

    page.get_by_role("navigation", name="Dashboard").get_by_role("link", name="Activity").click()
    expect(page.get_by_role("heading", name="Activity")).to_be_visible()
    first = page.locator("#activity-list tbody tr").first
    expect(first).to_contain_text("Offer granted")
    expect(first).to_contain_text("Casey Creator (Owner)")
    page.get_by_label("What happened").select_option(label="Access revoked")
    expect(page).to_have_url(re.compile(r"kind=revoked"))
    expect(page.locator("#activity-list tbody tr").first).to_contain_text("Access revoked")
    screenshot("activity-tab")


@pytest.mark.browser
def test_without_javascript_every_step_is_a_page_of_its_own(browser, live_server, demo):
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 860}
    )
    page = context.new_page()
    sign_in(page, live_server, "creator@example.com")
    page.get_by_role("searchbox", name="Search").fill("ada@example.com")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"/contacts/\?q=ada%40example.com"))
    page.get_by_role("link", name="Ada Lovelace").click()
    # Each step is the Contacts tab of the same search, with the panel open beside it.
    expect(page).to_have_url(re.compile(r"/contacts/\d+/preview/\?q=ada%40example.com$"))
    expect(page.get_by_role("searchbox", name="Search")).to_have_value("ada@example.com")
    page.get_by_role("link", name="View More").click()
    page.get_by_role("link", name="More Info about Advanced Python").click()
    page.get_by_role("link", name="Revoke Access to Advanced Python in Python Bootcamp").click()
    expect(page.get_by_role("heading", level=2)).to_have_text(
        "Revoke access to Advanced Python for Ada Lovelace?"
    )
    page.get_by_label("Reason").fill("Chargeback")
    page.get_by_role("button", name="Revoke access").click()
    expect(page).to_have_url(re.compile(r"/contacts/\d+/products/\d+/\?q=ada%40example.com$"))
    expect(page.get_by_role("status")).to_contain_text(
        "Access to “Advanced Python” revoked for Ada Lovelace."
    )
    expect(
        page.get_by_role("link", name="Restore access to Advanced Python in Python Bootcamp")
    ).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "revoked-without-javascript.png"), full_page=True)
    assert advanced_python_access().status == AccessStatus.REVOKED
    context.close()
