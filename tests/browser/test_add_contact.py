"""Adding a contact with an offer from the Contacts tab, on a laptop and on a phone: the
new contact is in the table at once and holds the offer's Products in View More."""

from io import StringIO

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from contacts.models import Contact
from tests.browser.pages import popup, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo():
    call_command("seed_demo", "--contacts", "30", stdout=StringIO())


def add_with_offer(page, screenshot, *, email: str, name: str, size: str) -> None:
    page.get_by_role("link", name="Add contact").click()
    dialog = popup(page)
    expect(dialog.get_by_role("heading", name="Add contact")).to_be_visible()
    expect(dialog.get_by_label("Email", exact=True)).to_be_focused()
    # An email already here, in another case, is refused next to the field.
    dialog.get_by_label("Email", exact=True).fill("ADA@example.com")
    dialog.get_by_role("button", name="Add contact").click()
    dialog = popup(page)
    expect(dialog.get_by_text("ada@example.com is already a contact here")).to_be_visible()
    expect(dialog.get_by_role("link", name="Open Ada Lovelace")).to_be_visible()
    screenshot(f"add-contact-taken-{size}")

    dialog.get_by_label("Email", exact=True).fill(email)
    dialog.get_by_label("Name", exact=True).fill(name)
    dialog.get_by_label("VIP").check()
    dialog.get_by_label("Grant an offer now").select_option(label="Python Bootcamp")
    screenshot(f"add-contact-{size}")
    dialog.get_by_role("button", name="Add contact").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    toast = page.locator("[data-toast]").last
    expect(toast).to_contain_text(f"{name} is added to your contacts.")
    expect(toast).to_contain_text("now has “Python Bootcamp”")

    table = page.locator("#contacts-table")
    expect(table.get_by_role("link", name=name)).to_be_visible()
    screenshot(f"add-contact-added-{size}")
    table.get_by_role("link", name=name).click()
    panel = page.locator("#panel")
    expect(panel.get_by_role("heading", name=name)).to_be_visible()
    panel.get_by_role("link", name="View More").click()
    expect(panel.get_by_role("heading", name="Products")).to_be_visible()
    expect(panel.get_by_text("Python Basics", exact=True)).to_be_visible()
    expect(panel.get_by_text("Advanced Python", exact=True)).to_be_visible()
    screenshot(f"add-contact-view-more-{size}")


def test_add_a_contact_with_an_offer_on_a_laptop_and_a_phone(page, live_server, demo, screenshot):
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_server, "creator@example.com")
    expect(page.get_by_role("heading", name="Contacts")).to_be_visible()
    add_with_offer(page, screenshot, email="mary@example.com", name="Mary Somerville", size="1366")

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/contacts/")
    add_with_offer(page, screenshot, email="emmy@example.com", name="Emmy Noether", size="390")

    for email in ("mary@example.com", "emmy@example.com"):
        contact = Contact.objects.get(email=email)
        assert list(contact.tags.values_list("name", flat=True)) == ["VIP"]
        assert contact.grants.filter(offer__title="Python Bootcamp").exists()


def test_editing_a_contact_on_its_activity_shows_the_change_there_at_once(
    page, live_server, demo, screenshot
):
    ada = Contact.objects.get(site__slug="demo-academy", email="ada@example.com")
    for size, (width, height) in {"1366": (1366, 900), "390": (390, 844)}.items():
        page.set_viewport_size({"width": width, "height": height})
        sign_in(page, live_server, "creator@example.com")
        page.goto(f"{live_server.url}/contacts/{ada.pk}/activity/")
        old_name = Contact.objects.get(pk=ada.pk).name
        new_name = f"Ada King {size}"
        page.get_by_role("link", name="Edit contact").click()
        dialog = popup(page)
        dialog.get_by_label("Name", exact=True).fill(new_name)
        dialog.get_by_role("button", name="Save").click()
        expect(page.get_by_role("dialog")).to_have_count(0)
        activity = page.get_by_role("region", name="Activity")
        change = activity.locator(".timeline__item--contact_edited").first
        # No reload: the page's address and the timeline's first entry are the new ones.
        expect(change).to_contain_text("Contact details changed")
        expect(change).to_contain_text(f"{old_name} → {new_name}")
        expect(page.get_by_role("heading", name=new_name, level=1)).to_be_visible()
        screenshot(f"edit-contact-activity-{size}")
