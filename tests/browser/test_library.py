"""The customer Library in a real Chromium, on the demo data."""

from io import StringIO

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from products.models import Product
from tests.browser.pages import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo():
    call_command("seed_demo", "--contacts", "0", stdout=StringIO())


def test_ada_opens_python_basics_and_marks_a_lesson_complete(page, live_server, demo, screenshot):
    sign_in(page, live_server, "ada@example.com")
    expect(page).to_have_url(f"{live_server.url}/library/")
    expect(page.get_by_role("heading", name="Your Library")).to_be_visible()
    basics = page.locator(".library-card", has_text="Python Basics")
    expect(basics).to_contain_text("3 of 5 lessons")
    expect(page.locator(".library-card", has_text="Advanced Python")).to_contain_text(
        "0 of 4 lessons"
    )
    expect(page.get_by_role("navigation", name="Dashboard")).to_have_count(0)
    screenshot("library-index")

    basics.get_by_role("link", name="Python Basics", exact=True).click()
    expect(page.get_by_role("heading", name="Python Basics")).to_be_visible()
    expect(page.locator(".lesson-list__item--done")).to_have_count(3)
    screenshot("library-product")

    page.get_by_role("link", name="Continue: Loops").click()
    expect(page.get_by_role("heading", name="Loops")).to_be_visible()
    expect(page.get_by_text("Lesson 4 of 5")).to_be_visible()
    screenshot("library-lesson")
    page.get_by_role("button", name="Mark complete").click()
    expect(page.get_by_role("status")).to_contain_text("“Loops” marked complete.")
    expect(page.get_by_text("4 of 5 lessons of Python Basics completed")).to_be_visible()
    expect(page.get_by_role("button", name="Mark complete")).to_have_count(0)
    screenshot("library-lesson-completed")

    page.get_by_role("link", name="Your Library").click()
    expect(page.locator(".library-card", has_text="Python Basics")).to_contain_text(
        "4 of 5 lessons"
    )


def test_a_product_ada_does_not_hold_is_a_friendly_404(page, live_server, demo, screenshot):
    elsewhere = Product.objects.exclude(site__slug="demo-academy").first()
    sign_in(page, live_server, "ada@example.com")
    response = page.goto(f"{live_server.url}/library/{elsewhere.pk}/")
    assert response.status == 404
    expect(page.get_by_text("This product isn't in your Library.")).to_be_visible()
    expect(page.get_by_role("link", name="Back to your Library")).to_be_visible()
    screenshot("library-refused")


def test_a_signed_in_user_without_purchases_sees_an_empty_library(
    page, live_server, demo, screenshot
):
    sign_in(page, live_server, "support@example.com")
    page.goto(f"{live_server.url}/library/")
    expect(page.get_by_role("heading", name="Your Library is empty")).to_be_visible()
    screenshot("library-empty")
