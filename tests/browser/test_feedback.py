"""Feedback a creator can trust, in a real Chromium: the message after a change is a toast
that takes the focus and offers the way back, goes by itself unless held, and a request in
flight shows itself and cannot be sent twice."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import expect

from purchases.models import AccessEvent, AccessStatus, ProductAccess
from tests.browser.pages import popup, sign_in

pytestmark = pytest.mark.django_db(transaction=True)

REVOKED = "Access to “Advanced Python” revoked for Ada Lovelace."
RESTORED = "Access to “Advanced Python” restored for Ada Lovelace."


@pytest.fixture
def demo():
    call_command("seed_demo", "--contacts", "30", stdout=StringIO())


def advanced_python() -> ProductAccess:
    return ProductAccess.objects.select_related("grant").get(
        grant__contact__email="ada@example.com",
        grant__offer__title="Python Bootcamp",
        product__title="Advanced Python",
    )


def product_revokes() -> int:
    return AccessEvent.objects.filter(kind=AccessEvent.Kind.PRODUCT_REVOKED).count()


class HeldPosts:
    """Holds back every POST to URLs ending as given until released, and counts them."""

    def __init__(self, page, ending: str):
        self.held = []
        self.sent = []
        self.page = page
        self.pattern = re.compile(rf".*{re.escape(ending)}$")
        page.on("request", self._count)
        page.route(self.pattern, self._hold)

    def _count(self, request):
        if request.method == "POST" and self.pattern.match(request.url):
            self.sent.append(request.url)

    def _hold(self, route):
        if route.request.method == "POST":
            self.held.append(route)
        else:
            route.continue_()

    def wait_for_one(self):
        for _ in range(100):
            if self.held:
                return
            self.page.wait_for_timeout(50)
        raise AssertionError(f"no POST was held; sent: {self.sent}")

    def release(self):
        while self.held:
            self.held.pop(0).continue_()
        self.page.unroute(self.pattern)


def focused_is_not_body(page) -> bool:
    return page.evaluate("document.activeElement !== document.body")


def spinner_showing(page, selector: str):
    """The spinner of the control that asked, once its moment has passed (CSS only)."""
    page.wait_for_function(
        """selector => {
          const el = document.querySelector(selector);
          return el && getComputedStyle(el, "::after").opacity === "1";
        }""",
        arg=selector,
    )


def test_toasts_the_way_back_and_requests_in_flight(page, live_server, demo):
    page.clock.install()
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/contacts/?q=Ada")
    page.locator("#contacts-table").get_by_role("link", name="Ada Lovelace").click()
    panel = page.locator("#panel")
    panel.get_by_role("link", name="View More").click()
    panel.get_by_role("link", name="More Info about Advanced Python").click()

    # The popup opens on its first field.
    panel.get_by_role("link", name="Revoke Access to Advanced Python in Python Bootcamp").click()
    dialog = popup(page)
    expect(dialog.get_by_label("Reason")).to_be_focused()
    dialog.get_by_label("Reason").fill("Refund requested")

    # Pressed twice while the answer is slow: one POST, the button disabled, a spinner.
    revokes_before = product_revokes()
    posts = HeldPosts(page, "/revoke/")
    submit = dialog.get_by_role("button", name="Revoke access")
    submit.dblclick()
    expect(submit).to_be_disabled()
    spinner_showing(page, "dialog form.htmx-request button[type='submit']")
    expect(page.locator(".request-bar")).to_have_css("opacity", "1")
    assert len(posts.sent) == 1
    posts.release()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.locator(".request-bar")).to_have_css("opacity", "0")
    assert len(posts.sent) == 1
    assert product_revokes() == revokes_before + 1
    assert advanced_python().status == AccessStatus.REVOKED

    # The message is a toast that has the focus and offers the way back.
    toasts = page.locator("#messages [data-toast]")
    toast = toasts.filter(has_text=REVOKED)
    expect(toast).to_be_focused()
    expect(toast.get_by_role("button", name="Dismiss")).to_be_visible()
    restore = toast.get_by_role("link", name="Restore access to Advanced Python for Ada Lovelace")
    expect(restore).to_be_visible()

    # By keyboard: the link, then the same Restore popup as the panel's button.
    page.keyboard.press("Tab")
    expect(restore).to_be_focused()
    page.keyboard.press("Enter")
    dialog = popup(page)
    expect(dialog.get_by_role("heading")).to_have_text(
        "Restore access to Advanced Python for Ada Lovelace?"
    )
    expect(dialog.get_by_label("Reason")).to_be_focused()
    dialog.get_by_role("button", name="Restore access").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    toast = toasts.filter(has_text=RESTORED)
    expect(toast).to_be_focused()
    # The revoke's way back is spent: only the new message is left.
    expect(toasts).to_have_count(1)
    assert advanced_python().status == AccessStatus.ACTIVE

    # On a phone the toast sits inside the screen, and a popup opened from it is not
    # covered by it.
    page.set_viewport_size({"width": 390, "height": 844})
    box = toast.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert box["y"] >= 0 and box["y"] + box["height"] <= 844
    toast.get_by_role("link", name="Revoke access to Advanced Python for Ada Lovelace").click()
    dialog = popup(page)
    cancel = dialog.get_by_role("link", name="Cancel", exact=True)
    for name, control in (("Cancel", cancel), ("Revoke access", dialog.get_by_role("button"))):
        expect(control).to_be_in_viewport()
        control_box = control.bounding_box()
        on_top = page.evaluate(
            "([x, y]) => document.elementFromPoint(x, y).closest('a, button').textContent.trim()",
            [
                control_box["x"] + control_box["width"] / 2,
                control_box["y"] + control_box["height"] / 2,
            ],
        )
        assert on_top == name
    dialog.get_by_role("link", name="Cancel", exact=True).click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    page.set_viewport_size({"width": 1366, "height": 900})

    # It stays while the focus is on one of its controls or the pointer on it, and goes
    # by itself otherwise.
    now = page.evaluate("Date.now()")
    page.clock.pause_at(now + 10)
    expect(toast.get_by_role("link", name=re.compile("^Revoke access"))).to_be_focused()
    page.clock.run_for(10_000)
    expect(toast).to_be_visible()
    page.get_by_role("searchbox", name="Search").focus()
    page.clock.run_for(4_000)
    expect(toast).to_be_visible()
    toast.hover()
    page.clock.run_for(10_000)
    expect(toast).to_be_visible()
    page.mouse.move(700, 100)
    page.clock.run_for(5_000)
    expect(toast).to_be_visible()
    page.clock.run_for(1_500)
    expect(toast).to_have_count(0)
    page.clock.resume()

    # A form sent without htmx (the popup's page of its own) goes once, however often it
    # is pressed; its message is a toast too, that Dismiss takes away.
    access = advanced_python()
    args = [access.grant.contact_id, access.grant_id, access.product_id]
    more_info = reverse("contacts:more_info", args=[args[0], args[2]])
    confirm = reverse("contacts:revoke_product_confirm", args=args)
    page.goto(f"{live_server.url}{confirm}?next={more_info}")
    posts = HeldPosts(page, "/revoke/")
    # Pressed twice from the page itself, the second time once the first POST is on its
    # way: Playwright's own clicks would wait for the held navigation.
    page.evaluate(
        """() => {
          const button = document.querySelector("main form[method='post'] button[type='submit']");
          button.click();
          return new Promise(done => setTimeout(() => { button.click(); done(); }, 300));
        }"""
    )
    page.wait_for_timeout(300)
    assert len(posts.sent) == 1
    posts.release()
    expect(page).to_have_url(re.compile(re.escape(more_info) + "$"))
    assert product_revokes() == revokes_before + 2
    toast = toasts.filter(has_text=REVOKED)
    expect(toast.get_by_role("link", name=re.compile("^Restore access"))).to_be_visible()
    toast.get_by_role("button", name="Dismiss").click()
    expect(toasts).to_have_count(0)
    assert focused_is_not_body(page)
