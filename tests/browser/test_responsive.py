"""Every screen on a phone (390x844) and on a laptop (1366x900): the controls a creator or a
customer needs are inside the screen and can be tapped, and the page never scrolls sideways."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from products.models import Lesson, Offer, Product
from purchases.models import AccessStatus, BulkAction, Grant
from tests.browser.pages import popup, sign_in

pytestmark = pytest.mark.django_db(transaction=True)

SIZES = pytest.mark.parametrize(
    "size", [(390, 844), (1366, 900)], ids=lambda size: f"{size[0]}x{size[1]}"
)
PHONE_WIDTH = 760  # the layout's breakpoint: at this width and less the panel is a sheet


@pytest.fixture
def demo():
    call_command("seed_demo", "--contacts", "30", stdout=StringIO())


def no_side_scroll(page):
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{page.url} is {widths[0]} px wide in a {widths[1]} px window"


def usable(page, locator):
    """The control is on screen once scrolled to, nothing covers it, and the page still
    does not scroll sideways."""
    expect(locator).to_be_visible()
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    assert box["x"] >= -0.5 and box["y"] >= -0.5, f"{locator} starts off screen: {box}"
    assert box["x"] + box["width"] <= width + 0.5, f"{locator} ends off screen: {box}"
    assert box["y"] + box["height"] <= height + 0.5, f"{locator} ends off screen: {box}"
    locator.click(trial=True)
    no_side_scroll(page)
    return locator


def in_view(page, locator):
    """The control is on screen as it is, without scrolling anything."""
    box = locator.bounding_box()
    height = page.viewport_size["height"]
    assert box["y"] >= 0 and box["y"] + box["height"] <= height, f"{locator} is out of view: {box}"


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two CSS colours written as rgb(r, g, b)."""

    def luminance(colour):
        channels = [int(c) / 255 for c in re.findall(r"\d+", colour)[:3]]
        r, g, b = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def screen(page, screenshot, name):
    """A whole screen: no sideways scroll, the project's icon, a screenshot to look at."""
    no_side_scroll(page)
    icon = page.locator("link[rel='icon']")
    expect(icon).to_have_count(1)
    assert page.request.get(icon.evaluate("link => link.href")).status == 200
    screenshot(f"responsive-{name}-{page.viewport_size['width']}")


@SIZES
def test_revoke_and_bulk_revoke_fit_the_screen(page, live_server, demo, screenshot, size):
    width, height = size
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, live_server)
    expect(page.get_by_role("heading", name="Contacts", level=1)).to_be_visible()
    screen(page, screenshot, "contacts")

    # Contacts → Ada's preview: on a phone a sheet over the list, on a laptop beside it.
    usable(page, page.get_by_role("searchbox", name="Search")).fill("Ada")
    table = page.locator("#contacts-table")
    expect(table.get_by_role("link", name="Grace Hopper")).to_have_count(0)
    usable(page, table.get_by_role("link", name="Ada Lovelace")).click()
    panel = page.locator("#panel")
    expect(panel.get_by_role("heading", name="Ada Lovelace")).to_be_visible()
    back = panel.get_by_role("link", name="Contacts", exact=True)
    close = panel.get_by_role("link", name="Close the panel")
    if width <= PHONE_WIDTH:
        assert panel.bounding_box() == {"x": 0, "y": 0, "width": width, "height": height}
        usable(page, back)
        expect(close).to_be_hidden()
    else:
        usable(page, close)
        expect(back).to_be_hidden()
        assert (
            table.bounding_box()["x"] + table.bounding_box()["width"] <= (panel.bounding_box()["x"])
        )
    screen(page, screenshot, "contact-preview")

    # View More → More Info → Revoke Access → the popup.
    usable(page, panel.get_by_role("link", name="View More")).click()
    expect(panel.get_by_role("heading", name="Products")).to_be_visible()
    screen(page, screenshot, "contact-view-more")
    usable(page, panel.get_by_role("link", name="More Info about Advanced Python")).click()
    expect(panel.get_by_role("heading", name="Advanced Python")).to_be_visible()
    screen(page, screenshot, "contact-more-info")
    revoke = panel.get_by_role("link", name="Revoke Access to Advanced Python in Python Bootcamp")
    usable(page, revoke).click()
    dialog = popup(page)
    usable(page, dialog.get_by_label("Reason")).fill("Refund requested")
    cancel = usable(page, dialog.get_by_role("link", name="Cancel", exact=True))
    confirm = usable(page, dialog.get_by_role("button", name="Revoke access"))
    screen(page, screenshot, "revoke-popup")
    if width <= PHONE_WIDTH:
        # With the on-screen keyboard up, the popup scrolls inside and its buttons stay.
        page.set_viewport_size({"width": width, "height": 400})
        dialog.get_by_role("heading").scroll_into_view_if_needed()
        in_view(page, cancel)
        in_view(page, confirm)
        page.set_viewport_size({"width": width, "height": height})
    confirm.click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    restore = panel.get_by_role("link", name="Restore access to Advanced Python in Python Bootcamp")
    usable(page, restore)
    assert (
        Grant.objects.get(contact__email="ada@example.com", offer__title="Python Bootcamp")
        .product_accesses.get(product__title="Advanced Python")
        .status
        == AccessStatus.REVOKED
    )

    # Closing the panel shows the list again, where it was.
    usable(page, back if width <= PHONE_WIDTH else close).click()
    expect(panel.get_by_role("heading")).to_have_count(0)
    usable(page, table.get_by_role("link", name="Ada Lovelace"))

    # A bulk revoke: two rows checked, the bar's Revoke offer, its popup, the action's page.
    offer = Offer.objects.get(site__slug="demo-academy", title="Python Bootcamp")
    page.goto(f"{live_server.url}/contacts/?offer={offer.pk}&access=has_access")
    boxes = page.locator("#contacts-table tbody input[name='ids']")
    for n in range(2):
        usable(page, boxes.nth(n)).check()
    bar = page.get_by_role("group", name="Bulk actions")
    expect(bar).to_contain_text("2 selected")
    screen(page, screenshot, "bulk-selected")
    usable(page, bar.get_by_role("button", name="Revoke offer")).click()
    dialog = popup(page)
    usable(page, dialog.get_by_label("Offer")).select_option(label="Python Bootcamp")
    expect(dialog.get_by_role("definition")).to_have_text(["2", "2", "0"])
    usable(page, dialog.get_by_role("link", name="Cancel", exact=True))
    confirm = usable(page, dialog.get_by_role("button", name="Revoke offer"))
    screen(page, screenshot, "bulk-revoke-popup")
    confirm.click()
    expect(page).to_have_url(re.compile(r"/bulk-actions/\d+/$"))
    bulk = BulkAction.objects.get()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"#{bulk.pk} Revoke offer: Python Bootcamp"
    )
    expect(page.locator("#bulk-progress")).to_contain_text("Done")
    usable(page, page.get_by_role("navigation", name="Breadcrumb").get_by_role("link"))
    usable(page, page.get_by_role("link", name="Back to Contacts"))
    screen(page, screenshot, "bulk-action")


@SIZES
def test_every_tab_and_the_library_fit_the_screen(page, live_server, demo, screenshot, size):
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(f"{live_server.url}/accounts/login/")
    usable(page, page.get_by_label("Email"))
    usable(page, page.get_by_label("Password"))
    usable(page, page.get_by_role("button", name="Sign in"))
    screen(page, screenshot, "sign-in")

    sign_in(page, live_server)
    tabs = page.get_by_role("navigation", name="Dashboard")
    main = page.locator("main")

    def tab(name, *controls):
        usable(page, tabs.get_by_role("link", name=name)).click()
        expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
        expect(tabs.get_by_role("link", name=name)).to_have_attribute("aria-current", "page")
        for control in controls:
            usable(page, control)
        screen(page, screenshot, name.lower().replace(" ", "-"))

    tab("Products", main.get_by_role("link", name="Progress report for Python Basics"))
    main.get_by_role("link", name="Progress report for Python Basics").click()
    usable(page, page.get_by_role("searchbox", name="Search name or email"))
    usable(page, page.get_by_label("Access"))
    usable(page, page.get_by_role("heading", name="Completion"))
    screen(page, screenshot, "product-progress")
    tab("Offers", main.get_by_role("link", name="New offer"), main.get_by_role("link").last)
    main.get_by_role("link", name="New offer").click()
    usable(page, page.get_by_label("Title"))
    usable(page, page.get_by_role("button", name="Create offer"))
    screen(page, screenshot, "offer-form")
    tab("Activity", page.get_by_label("What happened"))
    tab("Bulk actions", main.get_by_role("link", name="Select contacts"))
    tab("Automations", page.get_by_role("button", name="Create automation"))
    # The Contacts tab last: on a phone it is scrolled back into the tab bar's view.
    tab("Contacts", page.get_by_role("searchbox", name="Search"))

    # The focus ring stands out (3:1) from white and from the page's grey surfaces.
    page.keyboard.press("Tab")
    ring = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, parseFloat(s.outlineWidth), s.outlineColor]; }"
    )
    assert ring[0] == "solid" and ring[1] >= 2
    for surface in ("rgb(255, 255, 255)", "rgb(246, 247, 249)", "rgb(241, 243, 246)"):
        assert contrast(ring[2], surface) >= 3, f"focus ring {ring[2]} on {surface}"
    # Contact names look like the links they are.
    name = page.locator("#contacts-table").get_by_role("link", name="Ada Lovelace")
    colour = "el => getComputedStyle(el).color"
    assert name.evaluate(colour) != page.locator("main h1").evaluate(colour)
    assert contrast(name.evaluate(colour), "rgb(255, 255, 255)") >= 4.5
    name.hover()
    assert "underline" in name.evaluate("el => getComputedStyle(el).textDecorationLine")

    # Settings > Team, through the user menu, which opens inside the screen.
    usable(page, page.locator(".usermenu summary")).click()
    usable(page, page.get_by_role("link", name="Settings: Team")).click()
    expect(page.get_by_role("heading", name="Team", level=1)).to_be_visible()
    usable(page, page.get_by_role("button", name="Change role of team@example.com"))
    usable(page, page.get_by_role("link", name="Remove team@example.com"))
    usable(page, page.get_by_role("button", name="Add member"))
    screen(page, screenshot, "team")

    # The Library: its index, a Product, a lesson with Mark complete and the next lesson.
    basics = Product.objects.get(site__slug="demo-academy", title="Python Basics")
    sign_in(page, live_server, "ada@example.com")
    expect(page.get_by_role("heading", name="Your Library")).to_be_visible()
    product_link = usable(page, page.get_by_role("link", name="Continue Python Basics"))
    screen(page, screenshot, "library")
    product_link.click()
    expect(page.get_by_role("heading", name="Python Basics", level=1)).to_be_visible()
    lesson_link = usable(page, page.get_by_role("link", name="Continue: Loops"))
    screen(page, screenshot, "library-product")
    lesson_link.click()
    expect(page.get_by_role("heading", name="Loops", level=1)).to_be_visible()
    usable(page, page.get_by_role("button", name="Mark complete")).click()
    expect(page.get_by_role("button", name="Mark complete")).to_have_count(0)
    loops = Lesson.objects.get(product=basics, title="Loops")
    following = basics.lessons.get(position=loops.position + 1)
    usable(page, page.get_by_role("link", name=f"{following.title} →")).click()
    expect(page.get_by_role("heading", name=following.title, level=1)).to_be_visible()
    usable(page, page.get_by_role("button", name="Mark complete"))
    screen(page, screenshot, "lesson")

    # An error page has its way back on screen too.
    page.goto(f"{live_server.url}/library/{basics.pk}/lessons/999999/")
    usable(page, page.locator("main .button"))
    screen(page, screenshot, "not-found")
