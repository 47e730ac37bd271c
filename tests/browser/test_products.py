"""The Products and Offers tabs in a real Chromium, on the demo data."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils.text import slugify
from playwright.sync_api import expect

from contacts.models import Contact
from products.models import Offer, Product
from tests.browser.pages import sign_in
from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo():
    call_command("seed_demo", "--contacts", "0", stdout=StringIO())


def test_python_basics_progress_report_shows_ada_at_3_of_5_with_the_chart(
    page, live_server, demo, screenshot
):
    sign_in(page, live_server, "creator@example.com")
    page.get_by_role("navigation", name="Dashboard").get_by_role("link", name="Products").click()
    expect(page.get_by_role("heading", name="Products", exact=True)).to_be_visible()
    basics = page.locator("tr", has=page.get_by_role("link", name="Python Basics", exact=True))
    expect(basics.locator('[data-column="lessons"]')).to_have_text("5")
    screenshot("products-list")

    basics.get_by_role("link", name="Progress report").click()
    expect(page.get_by_role("heading", name="Python Basics: Product Progress")).to_be_visible()
    ada = page.locator("tbody tr", has_text="Ada Lovelace")
    expect(ada).to_contain_text("3 of 5")
    expect(ada).to_contain_text("60%")
    expect(ada).to_contain_text("Has access")
    chart = page.locator('svg[data-chart="completion"]')
    expect(chart).to_be_visible()
    expect(chart.locator('rect[data-label="51-75%"]')).to_have_attribute("data-value", "1")
    expect(page.locator('svg[data-chart="weekly"]')).to_be_visible()
    screenshot("product-progress")

    page.get_by_label("Access").select_option("revoked")
    expect(page).to_have_url(f"{page.url.split('?')[0]}?q=&access=revoked")
    expect(page.locator("tbody tr", has_text="Ada Lovelace")).to_have_count(0)
    screenshot("product-progress-revoked")
    page.go_back()
    expect(page.locator("tbody tr", has_text="Ada Lovelace")).to_have_count(1)

    page.get_by_role("link", name="Percent").click()
    expect(page).to_have_url(f"{page.url.split('?')[0]}?sort=percent")
    expect(page.locator("tr[data-access]").last).to_contain_text("Ada Lovelace")
    page.get_by_role("link", name="Percent").click()
    expect(page.locator("tr[data-access]").first).to_contain_text("Ada Lovelace")

    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    content = open(download.value.path(), encoding="utf-8").read()
    assert "Ada Lovelace,ada@example.com,3,5,60," in content


def test_deleting_python_bootcamp_keeps_adas_access_and_leaves_grant_offer(
    page, live_server, demo, screenshot
):
    sign_in(page, live_server, "creator@example.com")
    page.goto(f"{live_server.url}/offers/")
    bootcamp = page.locator("tbody tr", has_text="Python Bootcamp")
    expect(bootcamp).to_contain_text("Python Basics")
    expect(bootcamp).to_contain_text("Advanced Python")
    expect(page.locator("tbody tr", has_text="30-Day Trial")).to_contain_text(
        "Restrict access to a specific amount of days: 30 days"
    )
    screenshot("offers-list")

    bootcamp.get_by_role("link", name="Delete offer").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Existing customers keep their access to its products")
    expect(dialog).to_contain_text("can no longer be granted or sold")
    screenshot("offer-delete-dialog")
    dialog.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert Offer.objects.live().filter(title="Python Bootcamp").exists()

    bootcamp.get_by_role("link", name="Delete offer").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete offer").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.get_by_role("status")).to_contain_text("“Python Bootcamp” deleted.")
    deleted = page.locator(".deleted-offers")
    expect(deleted).to_contain_text("Python Bootcamp")
    expect(deleted.get_by_role("button", name="Restore offer Python Bootcamp")).to_be_visible()
    expect(page.locator("tbody tr", has_text="Python Bootcamp")).to_have_count(0)
    screenshot("offers-deleted")

    ada = Contact.objects.get(site__slug="demo-academy", email="ada@example.com")
    page.goto(f"{live_server.url}/contacts/{ada.pk}/grant-offer/choose/")
    choices = page.get_by_label("Offer").locator("option").all_inner_texts()
    assert "Vault Membership" in choices
    assert "Python Bootcamp" not in choices

    sign_in(page, live_server, "ada@example.com")
    expect(page.locator(".library-card", has_text="Python Basics")).to_contain_text(
        "3 of 5 lessons"
    )
    expect(page.locator(".library-card", has_text="Advanced Python")).to_be_visible()
    screenshot("library-after-offer-deleted")

    sign_in(page, live_server, "creator@example.com")
    page.goto(f"{live_server.url}/offers/")
    page.get_by_role("button", name="Restore offer Python Bootcamp").click()
    expect(page.get_by_role("status")).to_contain_text("can be granted and sold again")
    expect(page.locator("tbody tr", has_text="Python Bootcamp")).to_be_visible()
    page.goto(f"{live_server.url}/contacts/{ada.pk}/grant-offer/choose/")
    assert "Python Bootcamp" in page.get_by_label("Offer").locator("option").all_inner_texts()


def test_editing_an_offers_products_says_who_is_affected_before_saving(
    page, live_server, demo, screenshot
):
    sign_in(page, live_server, "creator@example.com")
    page.goto(f"{live_server.url}/offers/")
    page.locator("tbody tr", has_text="Python Bootcamp").get_by_role("link", name="Edit").click()
    expect(page.get_by_role("heading", name="Edit “Python Bootcamp”")).to_be_visible()
    expect(page.get_by_text("new grants only")).to_be_visible()
    page.get_by_label("Advanced Python").uncheck()
    hint = page.locator("#offer-changes")
    expect(hint).to_contain_text("lose access to Advanced Python")
    screenshot("offer-edit-hint")

    page.get_by_role("button", name="Save offer").click()
    expect(page.locator("#offer-changes")).to_contain_text(
        "Saving changes existing customers' access"
    )
    screenshot("offer-edit-preview")
    page.get_by_role("button", name="Save and change access").click()
    expect(page.get_by_role("status")).to_contain_text("“Advanced Python” removed from")
    expect(page.locator("tbody tr", has_text="Python Bootcamp")).not_to_contain_text(
        "Advanced Python"
    )

    page.get_by_role("link", name="New offer").click()
    expect(page.get_by_role("heading", name="New offer")).to_be_visible()
    screenshot("offer-new")
    page.get_by_label("Title").fill("Weekend Workshop")
    page.get_by_label("Python Basics").check()
    page.get_by_role("radio", name="Payment plan").check()
    page.get_by_label("Price (USD)").fill("40")
    page.get_by_role("button", name="Create offer").click()
    expect(page.get_by_text("A payment plan needs a number of payments")).to_be_visible()
    screenshot("offer-form-error")
    page.get_by_label("Number of payments").fill("3")
    page.get_by_role("button", name="Create offer").click()
    expect(page.locator("tbody tr", has_text="Weekend Workshop")).to_contain_text(
        "3 × 40.00 USD a month"
    )


def test_delete_offer_is_a_page_of_its_own_without_javascript(browser, live_server, demo):
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 860}
    )
    page = context.new_page()
    sign_in(page, live_server, "creator@example.com")
    page.goto(f"{live_server.url}/offers/")
    vault = page.locator("tbody tr", has_text="Vault Membership")
    vault.get_by_role("link", name="Delete offer").click()
    expect(page.get_by_role("heading", name="Delete “Vault Membership”?")).to_be_visible()
    expect(page.get_by_text("can no longer be granted or sold")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "offer-delete-page.png"), full_page=True)
    page.get_by_role("button", name="Delete offer").click()
    expect(page.get_by_role("status")).to_contain_text("“Vault Membership” deleted.")
    expect(page.locator(".deleted-offers")).to_contain_text("Vault Membership")
    context.close()


FIELDS_PER_TYPE = {
    # The payment type: which of Price, Number of payments and Billing interval it shows.
    "Free": (False, False, False),
    "One-time payment": (True, False, False),
    "Subscription": (True, False, True),
    "Payment plan": (True, True, True),
}
SIZES = {"1366": {"width": 1366, "height": 900}, "390": {"width": 390, "height": 844}}


def fields_shown(page) -> tuple[bool, bool, bool]:
    return tuple(
        page.get_by_label(label, exact=True).is_visible()
        for label in ("Price (USD)", "Number of payments", "Billing interval")
    )


def test_the_offer_form_and_the_progress_report_at_both_sizes(page, live_server, screenshot):
    call_command("seed_demo", "--contacts", "30", stdout=StringIO())
    sign_in(page, live_server, "creator@example.com")
    basics = Product.objects.get(site__slug="demo-academy", title="Python Basics")
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        page.goto(f"{live_server.url}/offers/new/")
        for payment_type, shown in FIELDS_PER_TYPE.items():
            radio = page.get_by_role("radio", name=payment_type)
            radio.check()
            expect(radio).to_be_checked()
            assert fields_shown(page) == shown, (size, payment_type)
            screenshot(f"offer-form-{slugify(payment_type)}-{size}")

        page.goto(f"{live_server.url}/products/{basics.pk}/progress/")
        charts = page.locator(".progress-charts")
        table = page.locator("#progress-report table")
        expect(charts.locator('svg[data-chart="weekly"]')).to_be_visible()
        if size == "1366":
            # Beside the table, within the first screen.
            assert charts.bounding_box()["y"] < 900
            assert charts.bounding_box()["x"] < table.bounding_box()["x"]
        else:
            assert charts.bounding_box()["y"] < table.bounding_box()["y"]
        screenshot(f"product-progress-{size}")
        rows = page.locator("#progress-report tbody tr")
        expect(rows.first).to_be_visible()
        assert rows.count() > 1
        expect(page.get_by_role("button", name="Filter")).to_have_count(0)
        page.get_by_label("Search name or email").press_sequentially("lovelace")
        expect(rows).to_have_count(1)
        expect(page).to_have_url(re.compile(rf"/products/{basics.pk}/progress/\?q=lovelace&"))
        ada = Contact.objects.get(site__slug="demo-academy", email="ada@example.com")
        expect(rows.get_by_role("link", name="Ada Lovelace")).to_have_attribute(
            "href", f"/contacts/{ada.pk}/preview/"
        )
        screenshot(f"product-progress-search-{size}")

    # Typed while it was a payment plan, the price and number of payments go with the type.
    page.goto(f"{live_server.url}/offers/new/")
    page.get_by_label("Title").fill("Spring Giveaway")
    page.get_by_label("Python Basics").check()
    page.get_by_role("radio", name="Payment plan").check()
    page.get_by_label("Price (USD)").fill("40")
    page.get_by_label("Number of payments").fill("3")
    page.get_by_role("radio", name="Free").check()
    page.get_by_role("button", name="Create offer").click()
    giveaway = page.locator("tbody tr", has_text="Spring Giveaway")
    expect(giveaway).to_contain_text("Free")
    offer = Offer.objects.get(title="Spring Giveaway")
    assert (offer.payment_type, offer.price, offer.installments) == ("free", 0, None)


@pytest.mark.parametrize("width", [390, 1366])
def test_paging_the_progress_report_by_keyboard(page, live_server, screenshot, width):
    call_command("seed_demo", "--contacts", "30", stdout=StringIO())
    basics = Product.objects.get(site__slug="demo-academy", title="Python Basics")
    page.set_viewport_size({"width": width, "height": 844 if width < 760 else 900})
    sign_in(page, live_server, "creator@example.com")
    page.goto(f"{live_server.url}/products/{basics.pk}/progress/?per_page=10")
    pager = page.get_by_role("navigation", name="Pages")
    current = pager.locator('[aria-current="page"]')
    expect(current).to_have_text(re.compile(r"^Page 1 of \d+$"))
    pages = int(current.inner_text().rsplit(" ", 1)[1])
    assert pages > 2
    rows = page.locator("#progress-report tbody tr")
    first_rows = rows.all_inner_texts()

    following = pager.get_by_role("link", name="Next")
    following.focus()
    page.keyboard.press("Enter")
    expect(current).to_have_text(f"Page 2 of {pages}")
    expect(page).to_have_url(re.compile(r"/progress/\?.*page="))
    assert not set(rows.all_inner_texts()) & set(first_rows)

    pager.get_by_role("link", name="Last").focus()
    page.keyboard.press("Enter")
    expect(current).to_have_text(f"Page {pages} of {pages}")
    expect(pager.get_by_role("link", name="Next")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(f"product-progress-pager-last-{width}")

    pager.get_by_role("link", name="First").focus()
    page.keyboard.press("Enter")
    expect(current).to_have_text(f"Page 1 of {pages}")
    assert rows.all_inner_texts() == first_rows
