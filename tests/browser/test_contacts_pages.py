"""The Contacts tab's pager on a phone and on a laptop: Next, Last, Previous and First by
keyboard alone, each page's address pushed so that Back and a reload show it again, and
the pager inside the screen."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from tests.browser.pages import sign_in
from tests.browser.test_keyboard import focus_is_not_on_body, tab_to
from tests.browser.test_responsive import no_side_scroll
from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo():
    call_command("seed_demo", "--contacts", "30", stdout=StringIO())


def rows(page) -> list[str]:
    return page.locator("#contacts-table tbody tr").evaluate_all("rows => rows.map(r => r.id)")


@pytest.mark.parametrize("width", [390, 1366])
def test_paging_the_contacts_tab_by_keyboard(page, live_server, demo, screenshot, width):
    page.set_viewport_size({"width": width, "height": 844 if width < 760 else 900})
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/contacts/?per_page=10")
    pager = page.get_by_role("navigation", name="Pages")
    current = pager.locator('[aria-current="page"]')
    expect(current).to_have_text(re.compile(r"^Page 1 of \d+$"))
    pages = int(current.inner_text().rsplit(" ", 1)[1])
    first_rows = rows(page)

    # From the last row's link, a few Tabs reach Next.
    page.locator("#contacts-table tbody tr").last.get_by_role("link").focus()
    following = pager.get_by_role("link", name="Next")
    tab_to(page, following, limit=4)
    following.scroll_into_view_if_needed()
    screenshot(f"contacts-pager-{width}")
    page.keyboard.press("Enter")
    expect(current).to_have_text(f"Page 2 of {pages}")
    expect(page).to_have_url(re.compile(r"/contacts/\?.*page="))
    focus_is_not_on_body(page)
    assert not set(rows(page)) & set(first_rows)

    last = pager.get_by_role("link", name="Last")
    last.focus()
    page.keyboard.press("Enter")
    expect(current).to_have_text(f"Page {pages} of {pages}")
    expect(pager.get_by_role("link", name="Next")).to_have_count(0)
    expect(pager.get_by_role("link", name="Last")).to_have_count(0)
    focus_is_not_on_body(page)
    no_side_scroll(page)
    screenshot(f"contacts-pager-last-{width}")
    page.locator("#contacts-table .table-footer").screenshot(
        path=str(ARTIFACTS / f"contacts-pager-footer-{width}.png")
    )

    # A reload of the pushed address shows the same page; Back the one before.
    last_rows = rows(page)
    page.reload()
    expect(current).to_have_text(f"Page {pages} of {pages}")
    assert rows(page) == last_rows
    page.go_back()
    expect(current).to_have_text(f"Page 2 of {pages}")

    previous = pager.get_by_role("link", name="Previous")
    previous.focus()
    page.keyboard.press("Enter")
    expect(current).to_have_text(f"Page 1 of {pages}")
    assert rows(page) == first_rows
    expect(pager.get_by_role("link", name="First")).to_have_count(0)
    no_side_scroll(page)
