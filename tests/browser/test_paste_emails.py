"""`Paste emails` in a real Chromium, on a laptop and on a phone: paste five emails, one of
them unknown, and revoke an offer for the four contacts they name."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from contacts.models import Contact
from purchases.models import AccessStatus, BulkAction, Grant
from tests.browser.pages import popup, sign_in

pytestmark = pytest.mark.django_db(transaction=True)

SIZES = [(1366, 900, "laptop"), (390, 844, "phone")]


def test_paste_five_emails_and_revoke_an_offer_for_the_four_found(page, live_server, screenshot):
    call_command("seed_demo", "--contacts", "30", stdout=StringIO())
    holders = list(
        Contact.objects.filter(
            grants__offer__title="Python Bootcamp", grants__status=AccessStatus.ACTIVE
        ).order_by("pk")[:8]
    )
    assert len(holders) == 8
    sign_in(page, live_server)
    for (width, height, size), four in zip(SIZES, (holders[:4], holders[4:]), strict=True):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{live_server.url}/contacts/")
        bar = page.get_by_role("group", name="Bulk actions")
        bar.get_by_role("link", name="Paste emails").click()
        dialog = popup(page)
        expect(dialog.get_by_role("heading")).to_have_text("Paste emails")
        # Upper case, spaces, commas, semicolons and lines: all the same to the list.
        emails = [four[0].email.upper(), f" {four[1].email} ", four[2].email, four[3].email]
        text = f"{emails[0]}, {emails[1]};\n{emails[2]} nobody-{size}@example.com\n{emails[3]}"
        dialog.get_by_label("Emails").fill(text)
        screenshot(f"paste-emails-popup-{size}")
        dialog.get_by_role("button", name="Select contacts").click()

        expect(page).to_have_url(re.compile(r"/contacts/\?pasted=\d+$"))
        banner = page.locator(".pasted-banner")
        expect(banner).to_contain_text("4 contacts selected from 5 emails; 1 not found")
        expect(banner).to_contain_text(f"Not found: nobody-{size}@example.com.")
        expect(banner.get_by_role("link", name="Download all as CSV")).to_be_visible()
        expect(page.locator("#contacts-table tbody tr")).to_have_count(4)
        expect(bar).to_contain_text("4 selected")
        screenshot(f"pasted-banner-{size}")

        bar.get_by_role("button", name="Revoke offer").click()
        dialog = popup(page)
        expect(dialog.get_by_role("heading")).to_have_text("Revoke offer for 4 contacts?")
        dialog.get_by_label("Offer").select_option(label="Python Bootcamp")
        expect(dialog.get_by_role("definition")).to_have_text(["4", "4", "0"])
        screenshot(f"pasted-revoke-preview-{size}")
        dialog.get_by_role("button", name="Revoke offer").click()

        expect(page).to_have_url(re.compile(r"/bulk-actions/\d+/$"))
        expect(page.locator("#bulk-progress")).to_contain_text("Done")
        expect(page.locator(".bulk-summary__item--changed dd")).to_have_text("4")
        screenshot(f"pasted-revoke-done-{size}")
        bulk = BulkAction.objects.order_by("-pk").first()
        assert "pasted" in bulk.selection
        revoked = Grant.objects.filter(
            contact__in=four, offer__title="Python Bootcamp", status=AccessStatus.REVOKED
        )
        assert revoked.count() == 4

        # Undo, from the Bulk actions tab: the four have the offer again.
        page.goto(f"{live_server.url}/bulk-actions/")
        row = page.locator(f"#bulk-action-{bulk.pk}")
        expect(row).to_contain_text("The contacts of a pasted list of emails")
        row.get_by_role("link", name=re.compile(r"^Undo")).click()
        dialog = popup(page)
        expect(dialog.get_by_role("definition")).to_have_text(["4", "4", "0"])
        screenshot(f"pasted-undo-preview-{size}")
        dialog.get_by_role("button", name="Undo revoke").click()
        expect(page).to_have_url(re.compile(r"/bulk-actions/\d+/$"))
        expect(page.locator(".bulk-summary__item--changed dd")).to_have_text("4")
        assert revoked.count() == 0


def test_a_search_within_a_pasted_selection_keeps_it(page, live_server, screenshot):
    call_command("seed_demo", "--contacts", "30", stdout=StringIO())
    sign_in(page, live_server)
    for width, height, size in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{live_server.url}/contacts/")
        page.get_by_role("group", name="Bulk actions").get_by_role(
            "link", name="Paste emails"
        ).click()
        dialog = popup(page)
        dialog.get_by_label("Emails").fill("ada@example.com grace@example.com linus@example.com")
        dialog.get_by_role("button", name="Select contacts").click()
        banner = page.locator(".pasted-banner")
        expect(banner).to_contain_text("selected from 3 emails")
        rows = page.locator("#contacts-table tbody tr")
        listed = rows.count()
        page.get_by_role("searchbox", name="Search").fill("grace")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Grace Hopper")
        banner = page.locator(".pasted-banner")
        expect(banner).to_contain_text("1 of them matches this search")
        expect(page).to_have_url(re.compile(r"/contacts/\?pasted=\d+&q=grace$"))
        expect(page.get_by_role("group", name="Bulk actions")).to_contain_text("1 selected")
        screenshot(f"pasted-search-{size}")
        banner.get_by_role("link", name=re.compile("^Show all")).click()
        expect(rows).to_have_count(listed)
