"""Setting an end date on Ada's Python Bootcamp from More Info, on a laptop and on a phone."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from contacts.models import Contact
from products.models import Offer, Product
from purchases.models import AccessEvent, Grant, Subscription
from tests.browser.pages import popup, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_set_an_end_date_on_adas_python_bootcamp(page, live_server, screenshot):
    call_command("seed_demo", "--contacts", "30", stdout=StringIO())
    ada = Contact.objects.get(site__slug="demo-academy", email="ada@example.com")
    basics = Product.objects.get(site__slug="demo-academy", title="Python Basics")
    end = timezone.localdate() + timedelta(days=45)
    shown = f"Access ends on {end:%b} {end.day}, {end.year}"

    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_server, "creator@example.com")
    page.goto(f"{live_server.url}/contacts/?q=Ada")
    page.locator("#contacts-table").get_by_role("link", name="Ada Lovelace").click()
    panel = page.locator("#panel")
    panel.get_by_role("link", name="View More").click()
    panel.get_by_role("link", name="More Info about Python Basics").click()
    grant = panel.locator("article.grant", has_text="Python Bootcamp")
    expect(grant).to_contain_text("No end")
    grant.get_by_role("link", name="Edit access dates of Python Bootcamp").click()
    dialog = popup(page)
    expect(dialog.get_by_role("heading")).to_have_text(
        "Edit access dates of Python Bootcamp for Ada Lovelace"
    )
    screenshot("access-dates-popup-1366")
    dialog.get_by_label("Access ends on").fill(end.isoformat())
    dialog.get_by_label("Reason").fill("Agreed by email")
    dialog.get_by_role("button", name="Save access dates").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.locator("#messages")).to_contain_text("Access dates of “Python Bootcamp” changed")
    expect(grant).to_contain_text(shown)
    screenshot("access-ends-in-more-info-1366")
    saved = Grant.objects.get(contact=ada, offer__title="Python Bootcamp")
    assert timezone.localdate(saved.expires_at) == end
    event = AccessEvent.objects.get(grant=saved, kind="access_dates_changed")
    assert event.reason == "Agreed by email"

    # On a phone: More Info says so too, and the popup fits the screen.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/contacts/{ada.pk}/products/{basics.pk}/")
    grant = page.locator("article.grant", has_text="Python Bootcamp")
    expect(grant).to_contain_text(shown)
    assert no_sideways_scroll(page)
    grant.get_by_role("link", name="Edit access dates of Python Bootcamp").click()
    dialog = popup(page)
    expect(dialog.get_by_label("Access ends on")).to_have_value(end.isoformat())
    assert no_sideways_scroll(page)
    screenshot("access-dates-popup-390")
    dialog.get_by_role("link", name="Cancel", exact=True).click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    screenshot("access-ends-in-more-info-390")


def test_the_bulk_end_date_popup_says_billing_is_untouched(page, live_server, screenshot):
    call_command("seed_demo", "--contacts", "30", stdout=StringIO())
    vault = Offer.objects.get(site__slug="demo-academy", title="Vault Membership")
    end = timezone.localdate() + timedelta(days=30)
    sign_in(page, live_server, "creator@example.com")
    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{live_server.url}/contacts/?offer={vault.pk}&billing=active")
        boxes = page.locator("#contacts-table tbody input[name='ids']")
        checked = []
        for n in range(3):
            boxes.nth(n).check()
            checked.append(int(boxes.nth(n).get_attribute("value")))
        billing = Subscription.objects.filter(
            grant__contact__in=checked,
            grant__offer=vault,
            grant__status="active",
            status__in=["active", "past_due"],
        ).count()
        assert billing > 0
        page.get_by_role("group", name="Bulk actions").get_by_role(
            "button", name="Set access end date"
        ).click()
        dialog = popup(page)
        dialog.get_by_label("Offer").select_option(label="Vault Membership")
        dialog.get_by_label("Access ends on").fill(end.isoformat())
        note = dialog.get_by_role("note")
        words = (
            "1 subscription still bills" if billing == 1 else f"{billing} subscriptions still bill"
        )
        expect(note).to_contain_text(f"Billing is untouched: {words}")
        assert no_sideways_scroll(page)
        screenshot(f"bulk-end-date-still-billing-{width}")
