"""A page that is gone, asked for from the panel, answers in a popup in the product's
words, at desktop and phone sizes; an answer the server could not give says so too."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from contacts.models import Contact
from tests.browser.pages import popup, sign_in

pytestmark = pytest.mark.django_db(transaction=True)

FRAMEWORK = re.compile(r"Resolver404|matches the given query|Traceback|Http404")


@pytest.fixture
def demo():
    call_command("seed_demo", "--contacts", "30", stdout=StringIO())


def open_preview(page, live_server, name: str):
    page.goto(f"{live_server.url}/contacts/?q={name.split()[0]}")
    page.locator("#contacts-table").get_by_role("link", name=name).click()
    panel = page.locator("#panel")
    expect(panel.get_by_role("heading", name=name)).to_be_visible()
    return panel


def close_popup(page, dialog):
    dialog.get_by_role("link", name="Close").click()
    expect(page.get_by_role("dialog")).to_have_count(0)


def test_a_contact_gone_since_the_panel_opened_is_said_in_a_popup(
    page, live_server, demo, screenshot
):
    sign_in(page, live_server)
    expect(page.get_by_role("heading", name="Contacts")).to_be_visible()
    for width, height, name in [(1366, 900, "Grace Hopper"), (390, 844, "Ada Lovelace")]:
        page.set_viewport_size({"width": width, "height": height})
        panel = open_preview(page, live_server, name)
        # A teammate deletes the contact while the preview is open.
        Contact.objects.filter(site__slug="demo-academy", name=name).delete()
        panel.get_by_role("link", name="View More").click()
        dialog = popup(page)
        expect(
            dialog.get_by_role("heading", name="We couldn't find that", exact=True)
        ).to_be_visible()
        expect(dialog).to_contain_text("It may have been moved, or you may not have access to it.")
        assert not FRAMEWORK.search(dialog.inner_text())
        close = dialog.get_by_role("link", name="Close")
        expect(close).to_be_in_viewport()
        screenshot(f"popup-not-found-{width}")
        close_popup(page, dialog)
        # The page behind it is as it was: the tab, and the panel it was asked from.
        expect(page.get_by_role("navigation", name="Dashboard")).to_be_visible()
        expect(panel.get_by_role("heading", name=name)).to_be_visible()

    # An answer a proxy gave instead of KajAccess, or none at all, still says so.
    panel = open_preview(page, live_server, "Alan Turing")
    page.route("**/contacts/*/products/**", lambda route: route.fulfill(status=502, body="x"))
    panel.get_by_role("link", name="View More").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="That did not work")).to_be_visible()
    expect(dialog).to_contain_text("Try again in a moment")
    screenshot("popup-no-answer-390")
    dialog.get_by_role("button", name="Close").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
