"""`Import` on the Contacts tab in a real Chromium, on the demo data: a 10-row CSV with 2 bad
rows from upload to Undo, an XLSX, bad files, and a preview that went stale meanwhile,
confirmed again by keyboard alone on a phone."""

import csv
import re
from io import StringIO

import pytest
import tablib
from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import expect

from contacts.models import Contact, ContactImport
from products.models import Offer
from purchases.models import AccessStatus, BulkAction, Grant
from tests.browser.pages import popup, sign_in
from tests.browser.screens import FORMULA_CSV
from tests.browser.test_keyboard import tab_to
from tests.contacts.test_import_steps import TEN_ROWS
from tests.factories import checked_import

pytestmark = pytest.mark.django_db(transaction=True)

NEW = [f"new{n}@example.com" for n in range(1, 7)]
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def demo():
    call_command("seed_demo", contacts=0, stdout=StringIO())


def trial() -> Offer:
    return Offer.objects.get(site__slug="demo-academy", title="30-Day Trial")


def choose_file(page, name: str, content: bytes, mime="text/csv") -> None:
    page.get_by_label("File", exact=True).set_input_files(
        files=[{"name": name, "mimeType": mime, "buffer": content}]
    )


def figures(page) -> dict[str, str]:
    """The preview's counts, by their terms: what the creator reads before confirming."""
    preview = page.locator(".import-preview")
    terms = preview.locator("dt").all_inner_texts()
    numbers = preview.locator("dt + dd").all_inner_texts()
    return dict(zip(terms, numbers, strict=True))


def open_import(page, live_server) -> None:
    """From the Contacts tab, `Import`."""
    sign_in(page, live_server)
    expect(page.get_by_role("heading", name="Contacts", level=1)).to_be_visible()
    page.get_by_role("link", name="Import", exact=True).click()
    expect(page.get_by_role("heading", name="Import contacts", level=1)).to_be_visible()


def test_import_a_ten_row_csv_with_two_bad_rows_then_undo(page, live_server, demo, screenshot):
    open_import(page, live_server)
    screenshot("import-upload")
    choose_file(page, "customers.csv", TEN_ROWS.encode())
    page.get_by_role("button", name="Upload").click()

    # The headers are matched.
    expect(page.get_by_role("heading", name="Import customers.csv", level=1)).to_be_visible()
    expect(page.locator("main")).to_contain_text("10 rows, uploaded")
    form = page.locator("form.import-form")
    expect(form.get_by_label("Email", exact=True)).to_have_value("0")
    expect(form.get_by_label("Name", exact=True)).to_have_value("1")
    expect(form.get_by_label("Tags", exact=True)).to_have_value("2")
    expect(page.get_by_role("region", name="The first rows of the file")).to_contain_text(
        "new1@example.com"
    )
    form.get_by_label("Grant an offer to every row").select_option(label="30-Day Trial")
    form.get_by_label("Tag every imported contact").fill("Spring import")
    screenshot("import-columns")
    form.get_by_role("button", name="Check the file").click()

    # The preview: nothing has changed yet.
    expect(page).to_have_url(re.compile(r"/contacts/import/\d+/#preview$"))
    assert figures(page) == {
        "Rows": "10",
        "New contacts": "6",
        "Already in your contacts": "2",
        "Will get the offer": "8",
        "Cannot be imported": "2",
    }
    expect(page.locator(".import-preview")).to_contain_text(
        "Left as they are, but tagged “Spring import”."
    )
    expect(page.locator(".import-preview")).to_contain_text("0 already have it.")
    bad = page.get_by_role("region", name="Rows that cannot be imported").locator("tbody tr")
    expect(bad).to_have_count(2)
    expect(bad.nth(0).locator("td")).to_have_text(["5", "Not an email", "not-an-email · Nobody"])
    expect(bad.nth(1).locator("td")).to_have_text(
        ["7", "Same email as row 2", "new1@EXAMPLE.com · New One Again"]
    )
    screenshot("import-preview")
    assert not Contact.objects.filter(email__in=NEW).exists()

    # The bad rows, as a CSV to fix them in.
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the rows that cannot be imported (CSV)").click()
    assert download.value.suggested_filename == "customers-rows-not-imported.csv"
    with open(download.value.path(), newline="", encoding="utf-8-sig") as file:
        assert list(csv.reader(file)) == [
            ["Row", "Why", "Email", "Name", "Tags"],
            ["5", "not an email", "not-an-email", "Nobody", ""],
            ["7", "same email as row 2", "new1@EXAMPLE.com", "New One Again", ""],
        ]

    # Confirm, and follow the progress to its summary.
    page.get_by_label("Reason").fill("Moving from another platform")
    page.get_by_role("button", name="Import 8 rows").click()
    expect(page).to_have_url(re.compile(r"/bulk-actions/\d+/$"))
    imported = BulkAction.objects.get(action="import_contacts")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"#{imported.pk} Import customers.csv"
    )
    progress = page.locator("#bulk-progress")
    expect(progress).to_contain_text("Done")
    expect(page.locator("#bulk-progress-bar")).to_have_attribute("value", "10")
    expect(progress).to_contain_text("10 of 10 rows done")
    expect(progress).to_contain_text("Contacts added: 6")
    expect(progress).to_contain_text("Offers granted: 8")
    screenshot("import-done")
    grants = Grant.objects.filter(offer=trial(), source=Grant.Source.IMPORT)
    assert grants.filter(status=AccessStatus.ACTIVE).count() == 8

    # The new contacts, found in the Contacts tab by the tag.
    page.get_by_role("link", name="Back to Contacts").click()
    page.get_by_label("Tag", exact=True).select_option(label="Spring import")
    table = page.locator("#contacts-table tbody")
    for email in [*NEW, "ada@example.com", "grace@example.com"]:
        expect(table).to_contain_text(email)
    expect(table.locator("tr")).to_have_count(8)
    screenshot("import-contacts-by-tag")

    # Undo, from the bulk action's page: the grants it gave are revoked.
    page.goto(f"{live_server.url}/bulk-actions/{imported.pk}/")
    page.get_by_role("link", name=re.compile(r"^Undo")).click()
    dialog = popup(page)
    expect(dialog.get_by_role("heading")).to_have_text(
        f"Undo import #{imported.pk} for 8 contacts?"
    )
    expect(dialog).to_contain_text(
        f"The contacts it added stay, tagged “Import #{imported.pk} undone”."
    )
    screenshot("import-undo-preview")
    dialog.get_by_role("button", name="Undo import").click()
    expect(page).to_have_url(re.compile(r"/bulk-actions/\d+/$"))
    expect(page.locator(".bulk-detail__facts")).to_contain_text(f"#{imported.pk}")
    expect(page.locator("#bulk-progress")).to_contain_text("Done")
    expect(page.locator(".bulk-summary__item--changed dt + dd")).to_have_text("8")
    screenshot("import-undone")
    assert grants.filter(status=AccessStatus.REVOKED).count() == 8
    page.goto(f"{live_server.url}/contacts/?offer={trial().pk}&access=revoked")
    for email in [*NEW, "ada@example.com", "grace@example.com"]:
        expect(table).to_contain_text(email)
    # The contacts it added stay, tagged so they can be found.
    page.get_by_label("Tag", exact=True).select_option(label=f"Import #{imported.pk} undone")
    expect(table.locator("tr")).to_have_count(6)


def test_an_xlsx_is_imported_like_a_csv(page, live_server, demo):
    sheet = tablib.Dataset(headers=["E-mail", "Full name"])
    sheet.append(["lin@example.com", "Lin Ong"])
    sheet.append(["nobody at example.com", "No One"])
    sheet.append(["ADA@example.com", "Ada Lovelace"])
    open_import(page, live_server)
    choose_file(
        page,
        "students.xlsx",
        sheet.export("xlsx"),
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("heading", name="Import students.xlsx", level=1)).to_be_visible()
    form = page.locator("form.import-form")
    expect(form.get_by_label("Email", exact=True)).to_have_value("0")
    expect(form.get_by_label("Name", exact=True)).to_have_value("1")
    expect(form.get_by_label("Tags", exact=True)).to_have_value("")
    form.get_by_role("button", name="Check the file").click()
    assert figures(page) == {
        "Rows": "3",
        "New contacts": "1",
        "Already in your contacts": "1",
        "Cannot be imported": "1",
    }
    page.get_by_role("button", name="Import 1 row").click()
    expect(page.locator("#bulk-progress")).to_contain_text("Contacts added: 1")
    assert Contact.objects.get(email="lin@example.com").name == "Lin Ong"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("customers.csv", FORMULA_CSV, "holds a formula"),
        ("photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00", "This is not a CSV or XLSX file."),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "Excel 97–2003"),
    ],
)
def test_a_bad_file_is_refused_in_plain_words(page, live_server, demo, name, content, message):
    open_import(page, live_server)
    choose_file(page, name, content)
    with page.expect_response(re.compile(r"/contacts/import/$")) as response:
        page.get_by_role("button", name="Upload").click()
    assert response.value.status == 400
    refused(page, message)
    expect(page.get_by_role("heading", name="Import contacts", level=1)).to_be_visible()
    assert not ContactImport.objects.exists()


def refused(page, message: str) -> None:
    """The file field says why, and the same page lets the creator choose another file."""
    expect(page.locator(".field--file .errorlist")).to_contain_text(message)
    expect(page.get_by_label("File", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("button", name="Upload")).to_be_enabled()


def test_a_file_too_large_is_refused_as_it_arrives(page, live_server, demo, settings):
    # The bound is lowered for a small file to cross it; the page names the bound.
    settings.FILE_UPLOAD_MAX_SIZE = 4096
    open_import(page, live_server)
    choose_file(page, "everyone.csv", ("Email\n" + "someone@example.com\n" * 1000).encode())
    with page.expect_response(re.compile(r"/contacts/import/$")) as response:
        page.get_by_role("button", name="Upload").click()
    assert response.value.status == 413
    refused(page, "The file is larger than 4.0\xa0KB. Split it.")
    assert not ContactImport.objects.exists()


def test_a_stale_preview_is_shown_again_and_confirmed_by_keyboard_on_a_phone(
    page, live_server, demo, screenshot
):
    creator = get_user_model().objects.get(email="creator@example.com")
    contact_import = checked_import(
        site=creator.memberships.get().site, user=creator, text=TEN_ROWS, offer=trial()
    )
    page.set_viewport_size(PHONE)
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/contacts/import/{contact_import.pk}/")
    assert figures(page)["New contacts"] == "6"
    # Meanwhile, one of the file's people is added by hand.
    Contact.objects.create(site=contact_import.site, email="new2@example.com", name="New Two")

    confirm = page.get_by_role("button", name="Import 8 rows")
    tab_to(page, confirm, limit=60)
    assert_focus_ring(page)
    with page.expect_response(re.compile(r"/start/$")) as response:
        page.keyboard.press("Enter")
    assert response.value.status == 409
    expect(page.get_by_role("alert")).to_contain_text("Your contacts changed since the preview")
    # The page opens on the new counts and the message, not at its top.
    expect(page.get_by_role("alert")).to_be_in_viewport()
    assert figures(page)["New contacts"] == "5"
    assert figures(page)["Already in your contacts"] == "3"
    assert not BulkAction.objects.exists()
    screenshot("import-stale-390")

    confirm = page.get_by_role("button", name="Import 8 rows")
    tab_to(page, confirm, limit=60)
    assert_focus_ring(page)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/bulk-actions/\d+/$"))
    expect(page.locator("#bulk-progress")).to_contain_text("Contacts added: 5")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def assert_focus_ring(page) -> None:
    ring = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, parseFloat(s.outlineWidth)]; }"
    )
    assert ring[0] == "solid" and ring[1] >= 2, ring


@pytest.mark.parametrize("width", [390, 1366])
def test_every_control_of_the_import_is_reached_by_tab_with_a_visible_focus(
    page, live_server, demo, width, screenshot
):
    creator = get_user_model().objects.get(email="creator@example.com")
    site = creator.memberships.get().site
    contact_import = checked_import(site=site, user=creator, text=TEN_ROWS, offer=trial())
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server)
    for path in ("/contacts/import/", f"/contacts/import/{contact_import.pk}/"):
        page.goto(live_server.url + path)
        controls = page.locator(
            # Of a group of radios, Tab reaches the checked one; the arrows move between them.
            "main a[href], main button, main select, main textarea, "
            "main input:not([type=hidden]):not([type=radio]:not(:checked)), "
            "main [tabindex='0']"
        )
        wanted = controls.evaluate_all("els => els.map((e, i) => i)")
        reached = set()
        for _ in range(len(wanted) * 3 + 40):
            page.keyboard.press("Tab")
            index = controls.evaluate_all("els => els.indexOf(document.activeElement)")
            if index >= 0:
                assert_focus_ring(page)
                reached.add(index)
            if len(reached) == len(wanted):
                break
        missing = [controls.nth(i).evaluate("e => e.outerHTML.slice(0, 80)") for i in wanted]
        missing = [html for i, html in zip(wanted, missing, strict=True) if i not in reached]
        assert not missing, f"{path} at {width}px: not reached by Tab: {missing}"
        assert page.evaluate("document.documentElement.scrollWidth") <= width, path


@pytest.mark.browser
def test_without_javascript_upload_check_and_confirm(browser, live_server, demo):
    context = browser.new_context(java_script_enabled=False, viewport=PHONE)
    page = context.new_page()
    try:
        open_import(page, live_server)
        choose_file(page, "customers.csv", TEN_ROWS.encode())
        page.get_by_role("button", name="Upload").click()
        page.get_by_label("Tag every imported contact").fill("No script")
        page.get_by_role("button", name="Check the file").click()
        assert figures(page)["New contacts"] == "6"
        page.get_by_role("button", name="Import 8 rows").click()
        expect(page).to_have_url(re.compile(r"/bulk-actions/\d+/$"))
        expect(page.locator("#bulk-progress")).to_contain_text("Contacts added: 6")
        tagged = Contact.objects.filter(tags__name="No script").values_list("email", flat=True)
        assert sorted(tagged) == sorted([*NEW, "ada@example.com", "grace@example.com"])
    finally:
        context.close()
