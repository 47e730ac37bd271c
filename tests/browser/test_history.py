"""The panel's steps have their addresses: Back and Forward walk them, a reload or a link
sent to a teammate opens the same panel over the same search, and Back shows access as it
is now."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from contacts.models import Contact
from products.models import Product
from tests.browser.pages import popup, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo():
    call_command("seed_demo", "--contacts", "30", stdout=StringIO())


def shows(page, title: str, address: str):
    """The panel shows the step titled `title`, and the address is the step's."""
    expect(page.locator("#panel #panel-title")).to_have_text(title)
    expect(page).to_have_url(re.compile(re.escape(address) + "$"))


def restored(page, move):
    """Go Back or Forward, and wait for the page that htmx fetches again."""
    with page.expect_response(lambda r: r.request.headers.get("hx-history-restore-request")):
        move()


def test_back_and_forward_walk_the_panel_and_a_reload_or_a_shared_link_opens_it_again(
    page, browser, live_server, demo, screenshot
):
    ada = Contact.objects.get(site__slug="demo-academy", email="ada@example.com")
    advanced = Product.objects.get(site__slug="demo-academy", title="Advanced Python")
    preview = f"/contacts/{ada.pk}/preview/?q=Ada"
    products = f"/contacts/{ada.pk}/products/?q=Ada"
    more_info = f"/contacts/{ada.pk}/products/{advanced.pk}/?q=Ada"
    restores = []
    page.on(
        "request",
        lambda r: restores.append(r.url) if r.headers.get("hx-history-restore-request") else None,
    )

    sign_in(page, live_server)
    page.get_by_role("searchbox", name="Search").fill("Ada")
    expect(page).to_have_url(re.compile(r"/contacts/\?q=Ada"))
    table = page.locator("#contacts-table")
    panel = page.locator("#panel")
    table.get_by_role("link", name="Ada Lovelace").click()
    shows(page, "Ada Lovelace", preview)
    expect(page.locator(f"#contact-row-{ada.pk}")).to_have_attribute("aria-current", "true")
    panel.get_by_role("link", name="View More").click()
    shows(page, "Products", products)
    panel.get_by_role("link", name="More Info about Advanced Python").click()
    shows(page, "Advanced Python", more_info)

    restored(page, page.go_back)
    shows(page, "Products", products)
    restored(page, page.go_back)
    shows(page, "Ada Lovelace", preview)
    restored(page, page.go_back)
    expect(page).to_have_url(re.compile(r"/contacts/\?q=Ada"))
    expect(panel.get_by_role("heading")).to_have_count(0)
    expect(table.get_by_role("link", name="Grace Hopper")).to_have_count(0)
    restored(page, page.go_forward)
    shows(page, "Ada Lovelace", preview)
    restored(page, page.go_forward)
    shows(page, "Products", products)
    restored(page, page.go_forward)
    shows(page, "Advanced Python", more_info)
    # Each step came back from the server, not from a snapshot taken before.
    assert len(restores) == 6, restores

    # A reload: the same panel over the same search, its contact's row marked.
    page.reload()
    shows(page, "Advanced Python", more_info)
    expect(page.get_by_role("searchbox", name="Search")).to_have_value("Ada")
    expect(table.get_by_role("link", name="Ada Lovelace")).to_be_visible()
    expect(table.get_by_role("link", name="Grace Hopper")).to_have_count(0)
    expect(page.locator(f"#contact-row-{ada.pk}")).to_have_attribute("aria-current", "true")
    screenshot("history-more-info-reloaded")

    # A teammate sent the link.
    other = browser.new_context(viewport={"width": 1366, "height": 900})
    teammate = other.new_page()
    sign_in(teammate, live_server, "team@example.com")
    teammate.goto(f"{live_server.url}{more_info}")
    shows(teammate, "Advanced Python", more_info)
    expect(teammate.get_by_role("searchbox", name="Search")).to_have_value("Ada")
    expect(
        teammate.locator("#contacts-table").get_by_role("link", name="Grace Hopper")
    ).to_have_count(0)
    other.close()

    # A new search under the open panel keeps it in the address.
    page.get_by_role("searchbox", name="Search").fill("Lovelace")
    shows(page, "Advanced Python", f"/contacts/{ada.pk}/products/{advanced.pk}/?q=Lovelace")
    expect(page.locator(f"#contact-row-{ada.pk}")).to_have_attribute("aria-current", "true")
    # Closing it goes back to the Contacts tab of that search; Back opens it again.
    panel.get_by_role("link", name="Close the panel").click()
    expect(page).to_have_url(re.compile(r"/contacts/\?q=Lovelace$"))
    expect(panel.get_by_role("heading")).to_have_count(0)
    expect(page.locator(f"#contact-row-{ada.pk}")).not_to_have_attribute("aria-current", "true")
    restored(page, page.go_back)
    shows(page, "Advanced Python", f"/contacts/{ada.pk}/products/{advanced.pk}/?q=Lovelace")

    # Back shows access as it is now: revoke here, and the steps before say so.
    panel.get_by_role("link", name="Revoke Access to Advanced Python in Python Bootcamp").click()
    dialog = popup(page)
    dialog.get_by_role("button", name="Revoke access").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    # The step drawn again after the change keeps the search of the address.
    expect(panel.get_by_role("link", name="Products of Ada Lovelace")).to_have_attribute(
        "href", f"/contacts/{ada.pk}/products/?q=Lovelace"
    )
    expect(
        panel.get_by_role("link", name=re.compile("^Restore access to Advanced Python"))
    ).to_be_visible()
    restored(page, page.go_back)
    shows(page, "Advanced Python", more_info)
    expect(
        panel.get_by_role("link", name=re.compile("^Restore access to Advanced Python"))
    ).to_be_visible()
    restored(page, page.go_back)
    shows(page, "Products", products)
    expect(panel.locator(".item--revoked", has_text="Advanced Python")).to_contain_text("Revoked")
    screenshot("history-back-after-revoke")

    # Back twice in a row draws the page the address names, even when the answer for the
    # page passed over comes last.
    held = []
    page.route(
        re.compile(rf".*/contacts/{ada.pk}/preview/\?q=Ada$"),
        lambda route: (
            held.append(route)
            if route.request.headers.get("hx-history-restore-request")
            else route.continue_()
        ),
    )
    page.go_back()
    page.wait_for_function("() => location.pathname.endsWith('/preview/')")
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(20)
    assert held, "the preview was not asked for again"
    restored(page, page.go_back)
    expect(page).to_have_url(re.compile(r"/contacts/\?q=Ada$"))
    expect(panel.get_by_role("heading")).to_have_count(0)
    held[0].continue_()
    page.wait_for_timeout(500)
    expect(panel.get_by_role("heading")).to_have_count(0)
