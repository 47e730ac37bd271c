"""What More Info and the Purchases tab say once one Product of an Offer is revoked."""

import re

import pytest
from playwright.sync_api import expect

from tests.academy import build_academy
from tests.factories import DEMO_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_more_info_highlights_its_product_and_the_offer_reads_partly_revoked(
    page, live_server, screenshot
):
    academy = build_academy()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("creator@example.com")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("searchbox", name="Search").fill("Ada")
    page.locator("#contacts-table").get_by_role("link", name="Ada Lovelace").click()
    panel = page.locator("#panel")
    panel.get_by_role("link", name="View More").click()

    # Opened from Python Basics, More Info lists Python Basics first, highlighted, though
    # Advanced Python comes first in the catalogue.
    panel.get_by_role("link", name="More Info about Python Basics").click()
    bootcamp = panel.locator("article.grant", has_text="Python Bootcamp")
    lines = bootcamp.locator("li.item")
    expect(lines.first).to_contain_text("Python Basics")
    expect(lines.first).to_have_attribute("aria-current", "true")
    expect(lines.first).to_have_css("box-shadow", re.compile(r"inset"))
    expect(lines.nth(1)).to_contain_text("Advanced Python")
    expect(lines.nth(1)).not_to_have_attribute("aria-current", "true")
    expect(bootcamp.locator(".grant__header .badge")).to_have_text("Active")
    screenshot("more-info-highlighted")

    bootcamp.get_by_role("link", name="Revoke Access to Advanced Python in Python Bootcamp").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("The rest of Python Bootcamp stays open.")
    dialog.get_by_role("button", name="Revoke access").click()
    expect(page.get_by_role("dialog")).to_have_count(0)

    # The card refreshes itself: the Offer is partly revoked, and Advanced Python says so.
    expect(bootcamp.locator(".grant__header .badge")).to_have_text("Partly revoked")
    expect(bootcamp).to_contain_text("Access revoked · Revoked by creator@example.com")
    expect(lines.nth(1).locator(".badge")).to_have_text("Revoked")
    expect(lines.first.locator(".badge")).to_have_count(0)
    expect(lines.first).to_have_attribute("aria-current", "true")
    screenshot("more-info-partly-revoked")

    page.goto(f"{live_server.url}/contacts/{academy.ada.pk}/purchases/")
    card = page.locator("article.grant", has_text="Python Bootcamp")
    expect(card.locator(".grant__header .badge")).to_have_text("Partly revoked")
    expect(card).to_contain_text("Access status")
    expect(card).to_contain_text("Access revoked")
    expect(
        page.locator("article.grant", has_text="Vault Membership").locator(".grant__header .badge")
    ).to_have_text("Active")
    screenshot("purchases-tab-partly-revoked")
