"""The revoke flow and a bulk revoke by keyboard alone: a few Tabs from one step's control
to the next, focus never dropped to the top of the page after a swap, and Escape closing
the popup, the panel and the user menu with focus back on what opened them."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from contacts.models import Contact
from products.models import Offer
from purchases.models import AccessStatus, BulkAction, ProductAccess
from tests.browser.pages import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo():
    call_command("seed_demo", "--contacts", "30", stdout=StringIO())


def focused(page) -> str:
    return page.evaluate(
        "(() => { const e = document.activeElement;"
        " return e ? `<${e.tagName.toLowerCase()}> ${(e.innerText || e.value || '').trim()}` : 'nothing'; })()"
    )


def tab_to(page, locator, limit=5, key="Tab") -> int:
    """Press Tab (or `key`) until `locator` has focus; fail when `limit` presses did not do."""
    for presses in range(limit + 1):
        if locator.evaluate("element => element === document.activeElement"):
            return presses
        if presses < limit:
            page.keyboard.press(key)
    raise AssertionError(f"{locator} not reached in {limit} × {key}; focus is on {focused(page)}")


def focus_is_not_on_body(page):
    """After a swap, focus is on something the creator can go on from, not the page's top."""
    page.wait_for_timeout(150)  # htmx settles a swap 20 ms after it, and focus moves then
    assert page.evaluate("document.activeElement && document.activeElement !== document.body"), (
        "focus fell back to <body>"
    )


def test_the_revoke_flow_by_keyboard_alone(page, live_server, demo, screenshot):
    ada = Contact.objects.get(site__slug="demo-academy", email="ada@example.com")
    sign_in(page, live_server)
    expect(page.get_by_role("heading", name="Contacts", level=1)).to_be_visible()

    # The skip link, then the search box.
    tab_to(page, page.get_by_role("link", name="Skip to content"), limit=1)
    page.keyboard.press("Enter")
    search = page.get_by_role("searchbox", name="Search")
    tab_to(page, search)
    page.keyboard.type("Ada")
    expect(page).to_have_url(re.compile(r"/contacts/\?q=Ada$"))
    expect(search).to_be_focused()
    # Enter goes to the results.
    page.keyboard.press("Enter")
    ada_link = page.locator(f"#contact-row-{ada.pk}").get_by_role("link", name="Ada Lovelace")
    expect(ada_link).to_be_focused()

    # Each step of the panel takes focus on its title, so the next control is a Tab or two away.
    title = page.locator("#panel #panel-title")
    page.keyboard.press("Enter")
    expect(title).to_have_text("Ada Lovelace")
    expect(title).to_be_focused()
    expect(page.get_by_role("region", name="Ada Lovelace")).to_be_visible()
    tab_to(page, page.get_by_role("link", name=re.compile("^View More")))
    page.keyboard.press("Enter")
    expect(title).to_have_text("Products")
    expect(title).to_be_focused()
    tab_to(page, page.get_by_role("link", name="More Info about Advanced Python"))
    page.keyboard.press("Space")  # a link ignores Space: nothing happens
    expect(title).to_have_text("Products")
    page.keyboard.press("Enter")
    expect(title).to_have_text("Advanced Python")
    expect(title).to_be_focused()
    screenshot("keyboard-more-info")

    # The popup: Escape closes it and focus is back on the control that opened it.
    revoke = page.get_by_role("link", name="Revoke Access to Advanced Python in Python Bootcamp")
    tab_to(page, revoke)
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    focus_is_not_on_body(page)
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(revoke).to_be_focused()

    # Confirm, with a reason.
    page.keyboard.press("Enter")
    reason = dialog.get_by_label("Reason")
    tab_to(page, reason)
    page.keyboard.type("Refund requested")
    tab_to(page, dialog.get_by_role("button", name="Revoke access"))
    screenshot("keyboard-revoke-popup")
    page.keyboard.press("Enter")
    expect(dialog).to_have_count(0)
    restore = page.get_by_role("link", name="Restore access to Advanced Python in Python Bootcamp")
    expect(restore).to_be_visible()
    focus_is_not_on_body(page)
    access = ProductAccess.objects.get(
        grant__contact=ada, grant__offer__title="Python Bootcamp", product__title="Advanced Python"
    )
    assert (access.status, access.revoke_reason) == (AccessStatus.REVOKED, "Refund requested")

    # Focus is on the message that says what changed: Escape dismisses it, and focus is
    # on the panel's title.
    expect(page.locator("#messages [data-toast]")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#messages [data-toast]")).to_have_count(0)
    expect(title).to_be_focused()

    # Escape closes the panel, and focus is back on the contact's link in the table.
    page.keyboard.press("Escape")
    expect(page.locator("#panel #panel-title")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/contacts/\?q=Ada$"))
    expect(ada_link).to_be_focused()
    # So does ×.
    page.keyboard.press("Enter")
    expect(title).to_be_focused()
    tab_to(page, page.get_by_role("link", name="Close the panel"))
    page.keyboard.press("Enter")
    expect(page.locator("#panel #panel-title")).to_have_count(0)
    expect(ada_link).to_be_focused()

    # A sort link swaps the table; focus stays on it.
    sort = page.get_by_role("link", name=re.compile(r"^Last activity\b.*sort"))
    tab_to(page, sort, key="Shift+Tab")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"sort=last_activity_at"))
    focus_is_not_on_body(page)
    expect(sort).to_be_focused()

    # The user menu: Enter opens it, Escape closes it and focus is back on it.
    page.reload()
    menu = page.locator("details.usermenu")
    summary = menu.locator("summary")
    tab_to(page, summary)
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("open", "")
    tab_to(page, menu.get_by_role("link", name="Change password"))
    page.keyboard.press("Escape")
    expect(menu).not_to_have_attribute("open", "")
    expect(summary).to_be_focused()


def test_a_bulk_revoke_by_keyboard_alone(page, live_server, demo, screenshot):
    offer = Offer.objects.get(site__slug="demo-academy", title="Python Bootcamp")
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/contacts/?offer={offer.pk}&access=has_access")
    tab_to(page, page.get_by_role("link", name="Skip to content"), limit=1)
    page.keyboard.press("Enter")
    tab_to(page, page.get_by_role("searchbox", name="Search"))
    page.keyboard.press("Enter")
    rows = page.locator("#contacts-table tbody tr")
    expect(rows.nth(0).locator(".contact-cell a")).to_be_focused()

    # Check two rows with Space.
    boxes = page.locator("#contacts-table tbody input[name='ids']")
    tab_to(page, boxes.nth(0), key="Shift+Tab")
    page.keyboard.press("Space")
    tab_to(page, boxes.nth(1))
    page.keyboard.press("Space")
    expect(boxes.nth(0)).to_be_checked()
    expect(boxes.nth(1)).to_be_checked()
    bar = page.get_by_role("group", name="Bulk actions")
    expect(bar).to_contain_text("2 selected")
    checked = [int(boxes.nth(n).get_attribute("value")) for n in (0, 1)]

    # Enter on a checked row goes to the bulk actions.
    page.keyboard.press("Enter")
    focus_is_not_on_body(page)
    tab_to(page, bar.get_by_role("button", name="Revoke offer"))
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading")).to_have_text("Revoke offer for 2 contacts?")
    focus_is_not_on_body(page)
    offer_field = dialog.get_by_label("Offer")
    tab_to(page, offer_field)
    while offer_field.input_value() != str(offer.pk):
        page.keyboard.press("ArrowDown")
    expect(dialog.get_by_role("definition")).to_have_text(["2", "2", "0"])
    focus_is_not_on_body(page)
    tab_to(page, dialog.get_by_label("Reason"))
    page.keyboard.type("Cohort ended")
    confirm = dialog.get_by_role("button", name="Revoke offer")
    tab_to(page, confirm)
    screenshot("keyboard-bulk-revoke-popup")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/bulk-actions/\d+/$"))
    expect(page.locator("#bulk-progress")).to_contain_text("Done")
    bulk = BulkAction.objects.get()
    assert bulk.changed == 2
    assert set(
        Contact.objects.filter(grants__offer=offer, grants__status=AccessStatus.REVOKED)
        .filter(pk__in=checked)
        .values_list("pk", flat=True)
    ) == set(checked)
