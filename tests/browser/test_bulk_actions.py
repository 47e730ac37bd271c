"""Bulk actions in a real Chromium, on the demo data (Demo Academy with its 200 generated
customers): revoke an offer for three contacts, tag everyone matching a search, undo."""

import csv
import io
import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from contacts.models import Contact, ContactTag
from products.models import Offer
from purchases.models import AccessStatus, BulkAction, Grant
from purchases.reports.selectors import contacts_products_count
from tests.browser.pages import popup, sign_in
from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.django_db(transaction=True)

User = get_user_model()


@pytest.fixture
def demo():
    call_command("seed_demo", stdout=StringIO())


def bootcamp() -> Offer:
    return Offer.objects.get(site__slug="demo-academy", title="Python Bootcamp")


def checked_contacts(page, count: int) -> list[Contact]:
    """Check the first `count` rows of the table and return their contacts."""
    boxes = page.locator("#contacts-table tbody input[name='ids']")
    ids = []
    for n in range(count):
        boxes.nth(n).check()
        ids.append(int(boxes.nth(n).get_attribute("value")))
    return list(Contact.objects.filter(pk__in=ids))


def test_revoke_an_offer_for_three_contacts_then_undo_it(page, live_server, demo, screenshot):
    offer = bootcamp()
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/contacts/?offer={offer.pk}&access=has_access")
    bar = page.get_by_role("group", name="Bulk actions")
    expect(bar).to_contain_text("Check contacts to act on many at once")
    expect(bar.get_by_role("button", name="Revoke offer")).to_be_disabled()

    three = checked_contacts(page, 3)
    expect(bar).to_contain_text("3 selected")
    expect(page.locator("tr.is-selected")).to_have_count(3)
    first = three[0]
    expect(page.get_by_role("checkbox", name=f"Select {first.display_name}")).to_be_checked()
    totals_before = contacts_products_count([c.pk for c in three])
    screenshot("bulk-three-selected")

    # Cancel changes nothing.
    bar.get_by_role("button", name="Revoke offer").click()
    dialog = popup(page)
    expect(dialog.get_by_role("heading")).to_have_text("Revoke offer for 3 contacts?")
    expect(dialog).to_contain_text("Choose an offer to see what will change.")
    dialog.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert not BulkAction.objects.exists()
    expect(bar).to_contain_text("3 selected")  # the selection is still there

    # The preview, once the offer is chosen.
    bar.get_by_role("button", name="Revoke offer").click()
    dialog = popup(page)
    dialog.get_by_label("Offer").select_option(label="Python Bootcamp")
    figures = dialog.get_by_role("definition")
    expect(figures).to_have_text(["3", "3", "0"])
    expect(dialog).to_contain_text("They keep their progress and are not notified.")
    dialog.get_by_label("Reason").fill("Cohort ended")
    screenshot("bulk-revoke-preview")
    revoked_before = Grant.objects.filter(offer=offer, status=AccessStatus.REVOKED).count()

    dialog.get_by_role("button", name="Revoke offer").click()
    expect(page).to_have_url(re.compile(r"/bulk-actions/\d+/$"))
    revoke = BulkAction.objects.get()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"#{revoke.pk} Revoke offer: Python Bootcamp"
    )
    progress = page.locator("#bulk-progress-bar")
    expect(progress).to_have_attribute("value", "3")
    expect(progress).to_have_attribute("max", "3")
    summary = page.locator(".bulk-summary")
    expect(summary.locator(".bulk-summary__item--changed dd")).to_have_text("3")
    expect(page.locator("#bulk-progress")).to_contain_text("Done")
    expect(page.locator("#bulk-progress")).not_to_have_attribute("hx-trigger", re.compile("."))
    expect(page.locator("main")).not_to_contain_text(f"Bulk action #{revoke.pk} started")
    screenshot("bulk-revoke-done")
    assert (
        Grant.objects.filter(offer=offer, status=AccessStatus.REVOKED).count() == revoked_before + 3
    )
    assert all(c.grants.get(offer=offer).revoke_reason == "Cohort ended" for c in three)

    # The contacts show it: their Total products dropped, and "Revoked" finds them.
    page.goto(f"{live_server.url}/contacts/?offer={offer.pk}&per_page=100")
    totals_after = contacts_products_count([c.pk for c in three])
    for contact in three:
        assert totals_after[contact.pk] < totals_before[contact.pk]
        expect(page.locator(f"#total-products-{contact.pk}")).to_have_text(
            str(totals_after[contact.pk])
        )
    page.goto(f"{live_server.url}/contacts/?offer={offer.pk}&access=revoked&per_page=100")
    for contact in three:
        expect(page.locator(f"#contact-row-{contact.pk}")).to_be_visible()

    # Undo, from the Bulk actions tab.
    page.get_by_role("navigation", name="Dashboard").get_by_role(
        "link", name="Bulk actions"
    ).click()
    expect(page.get_by_role("heading", name="Bulk actions", level=1)).to_be_visible()
    row = page.locator(f"#bulk-action-{revoke.pk}")
    expect(row).to_contain_text("creator@example.com")
    expect(row).to_contain_text("3 checked contacts")
    expect(row).to_contain_text("3 changed · 0 skipped")
    screenshot("bulk-history")
    row.get_by_role("link", name=re.compile(r"^Undo")).click()
    dialog = popup(page)
    expect(dialog.get_by_role("heading")).to_have_text(f"Undo revoke #{revoke.pk} for 3 contacts?")
    expect(dialog.get_by_role("definition")).to_have_text(["3", "3", "0"])
    screenshot("bulk-undo-preview")
    dialog.get_by_role("button", name="Undo revoke").click()
    expect(page).to_have_url(re.compile(r"/bulk-actions/\d+/$"))
    undo = BulkAction.objects.get(undo_of=revoke)
    expect(page.locator(".bulk-summary__item--changed dd")).to_have_text("3")
    expect(page.locator(".bulk-detail__facts")).to_contain_text(f"#{revoke.pk}")
    screenshot("bulk-undo-done")
    assert all(c.grants.get(offer=offer).status == AccessStatus.ACTIVE for c in three)
    assert contacts_products_count([c.pk for c in three]) == totals_before

    page.get_by_role("link", name="All bulk actions").click()
    row = page.locator(f"#bulk-action-{revoke.pk}")
    expect(row).to_contain_text(f"Undone by #{undo.pk}")
    expect(row.get_by_role("link", name=re.compile(r"^Undo"))).to_have_count(0)
    screenshot("bulk-history-undone")


def test_tag_every_contact_matching_a_search_with_the_typed_count(
    page, live_server, demo, screenshot
):
    sign_in(page, live_server)
    page.get_by_role("searchbox", name="Search").fill("customer")
    expect(page).to_have_url(re.compile(r"/contacts/\?q=customer"))
    expect(page.locator("#contacts-table")).to_contain_text("1–25 of 200")

    page.get_by_role("checkbox", name="Select all contacts on this page").check()
    banner = page.locator("[data-select-across]")
    expect(banner).to_contain_text("All 25 contacts on this page are selected.")
    bar = page.get_by_role("group", name="Bulk actions")
    expect(bar).to_contain_text("25 selected")
    screenshot("bulk-page-selected")
    banner.get_by_role("button", name="Select all 200 contacts matching this search").click()
    expect(banner).to_contain_text("All 200 contacts matching this search are selected.")
    expect(bar).to_contain_text("200 selected")
    screenshot("bulk-all-matching-selected")

    # Clear selection, then select all matching again.
    banner.get_by_role("button", name="Clear selection").click()
    expect(bar).to_contain_text("Check contacts to act on many at once")
    expect(page.locator("tbody input[name='ids']:checked")).to_have_count(0)
    page.get_by_role("checkbox", name="Select all contacts on this page").check()
    banner.get_by_role("button", name="Select all 200 contacts matching this search").click()

    bar.get_by_role("button", name="Add tag").click()
    dialog = popup(page)
    expect(dialog.get_by_role("heading")).to_have_text("Add tag for 200 contacts?")
    dialog.get_by_label("Tag").fill("Spring cohort")
    expect(dialog.get_by_role("definition")).to_have_text(["200", "200", "0"])
    dialog.get_by_label("Type 200 to confirm").fill("199")
    dialog.get_by_role("button", name="Add tag").click()
    expect(dialog).to_contain_text("Type 200, the number of selected contacts, to confirm.")
    assert not BulkAction.objects.exists()
    screenshot("bulk-typed-count-wrong")

    dialog.get_by_label("Type 200 to confirm").fill("200")
    dialog.get_by_role("button", name="Add tag").click()
    expect(page).to_have_url(re.compile(r"/bulk-actions/\d+/$"))
    expect(page.locator(".bulk-summary__item--changed dd")).to_have_text("200")
    expect(page.locator(".bulk-detail__facts")).to_contain_text("All matching “customer”")
    screenshot("bulk-tag-done")
    tagged = ContactTag.objects.filter(tag__name="Spring cohort")
    assert tagged.count() == 200
    assert not tagged.exclude(contact__email__startswith="customer").exists()

    page.get_by_role("link", name="All matching “customer”").click()
    expect(page.locator("#contacts-table .tag", has_text="Spring cohort")).to_have_count(25)


def test_the_progress_bar_follows_the_run_and_stops_polling_when_done(
    page, live_server, demo, screenshot
):
    bulk = BulkAction.objects.create(
        site=bootcamp().site,
        created_by=User.objects.get(email="creator@example.com"),
        action="revoke_offer",
        params={"offer": bootcamp().pk},
        selection={"all": True, "query": "q=customer"},
        status=BulkAction.Status.PENDING,
        total=1200,
    )
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/bulk-actions/{bulk.pk}/")
    progress = page.locator("#bulk-progress-bar")
    expect(progress).to_have_attribute("value", "0")
    expect(page.locator("#bulk-progress")).to_contain_text("Waiting for a worker to start it.")

    BulkAction.objects.filter(pk=bulk.pk).update(status=BulkAction.Status.RUNNING, processed=500)
    expect(progress).to_have_attribute("value", "500")
    expect(page.locator("#bulk-progress")).to_contain_text("Running")
    expect(page.locator("#bulk-progress")).to_contain_text("500 of 1,200 contacts done")
    screenshot("bulk-progress-running")

    BulkAction.objects.filter(pk=bulk.pk).update(
        status=BulkAction.Status.DONE,
        processed=1200,
        changed=1100,
        skipped=100,
        outcome={"skipped": {"already revoked": 60, "no such grant": 40}},
        finished_at=timezone.now(),
    )
    expect(progress).to_have_attribute("value", "1200")
    expect(page.locator(".bulk-summary__item--changed dd")).to_have_text("1,100")
    expect(page.locator(".bulk-summary")).to_contain_text("Already revoked: 60")
    expect(page.locator(".bulk-summary")).to_contain_text("No such grant: 40")
    screenshot("bulk-progress-done")

    polls = []
    page.on("request", lambda request: polls.append(request.url))
    page.wait_for_timeout(2500)
    assert polls == []


def test_export_csv_of_the_checked_contacts(page, live_server, demo):
    sign_in(page, live_server)
    page.get_by_role("searchbox", name="Search").fill("ace")
    expect(page).to_have_url(re.compile(r"/contacts/\?q=ace"))
    page.get_by_role("checkbox", name="Select Ada Lovelace").check()
    page.get_by_role("checkbox", name="Select Grace Hopper").check()
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    assert re.fullmatch(
        r"demo-academy-contacts-\d{4}-\d\d-\d\d\.csv", download.value.suggested_filename
    )
    rows = list(csv.reader(io.StringIO(open(download.value.path()).read())))
    assert [row[1] for row in rows[1:]] == ["ada@example.com", "grace@example.com"]
    assert "Vault Membership: Active" in rows[1][4]
    expect(page.get_by_role("group", name="Bulk actions")).to_contain_text("2 selected")


@pytest.mark.browser
def test_without_javascript_check_rows_and_press_an_action(browser, live_server, demo):
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 860}
    )
    page = context.new_page()
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        sign_in(page, live_server)
        page.get_by_role("searchbox", name="Search").fill("ace")
        page.get_by_role("button", name="Apply").click()
        # Nothing checked: a page says why, and leads back to the same search.
        page.get_by_role("button", name="Add tag").click()
        expect(page.get_by_role("alert")).to_have_text("Select at least one contact.")
        page.screenshot(path=str(ARTIFACTS / "bulk-no-js-nothing-selected.png"), full_page=True)
        page.get_by_role("link", name="Close").click()
        expect(page).to_have_url(re.compile(r"/contacts/\?q=ace&"))
        page.get_by_role("checkbox", name="Select Ada Lovelace").check()
        page.get_by_role("checkbox", name="Select Grace Hopper").check()
        page.get_by_role("button", name="Add tag").click()
        expect(page).to_have_url(re.compile(r"/contacts/bulk/$"))
        expect(page.get_by_role("heading", level=2)).to_have_text("Add tag for 2 contacts?")
        page.get_by_label("Tag").fill("Alumni")
        page.get_by_role("button", name="Show what will change").click()
        expect(page.get_by_role("definition")).to_have_text(["2", "2", "0"])
        page.screenshot(path=str(ARTIFACTS / "bulk-no-js-preview.png"), full_page=True)
        page.get_by_role("button", name="Add tag").click()
        expect(page).to_have_url(re.compile(r"/bulk-actions/\d+/$"))
        expect(page.locator(".bulk-summary__item--changed dd")).to_have_text("2")
        page.screenshot(path=str(ARTIFACTS / "bulk-no-js-done.png"), full_page=True)
        emails = ContactTag.objects.filter(tag__name="Alumni").values_list(
            "contact__email", flat=True
        )
        assert sorted(emails) == ["ada@example.com", "grace@example.com"]
    finally:
        context.close()
