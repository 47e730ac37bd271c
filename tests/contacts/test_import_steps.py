"""Importing contacts from a file: reading it, its preview, its run and its Undo."""

import io
from datetime import timedelta
from pathlib import Path

import pytest
import tablib
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from openpyxl import Workbook

from contacts.bulk.actions import registry
from contacts.bulk.runner import run_bulk_action, start_undo
from contacts.imports.files import MAX_ROWS, BadFile, read_sheet
from contacts.imports.plan import Choices
from contacts.imports.rows import Mapping
from contacts.imports.steps import (
    StalePreview,
    forget_imports,
    import_check,
    import_start,
    import_upload,
    preview_token,
)
from contacts.models import Contact, ContactImport
from kajaccess.actors import Actor
from purchases.access import services as access_services
from purchases.models import AccessEvent, AccessStatus, BulkAction, Grant
from tests.academy import build_academy

pytestmark = pytest.mark.django_db

TEN_ROWS = (
    "Email,Name,Tags\n"
    "new1@example.com,New One,vip\n"
    "new2@example.com,New Two,\n"
    "ADA@example.com,Ada King,vip; alumni\n"
    "not-an-email,Nobody,\n"
    "new3@example.com,New Three,\n"
    "new1@EXAMPLE.com,New One Again,\n"
    "grace@example.com,,\n"
    "new4@example.com,New Four,\n"
    "new5@example.com,New Five,\n"
    "new6@example.com,New Six,\n"
)


@pytest.fixture
def academy():
    return build_academy()


def upload(academy, text=TEN_ROWS, name="customers.csv"):
    data = text.encode() if isinstance(text, str) else text
    return import_upload(site=academy.site, user=academy.creator, name=name, data=data)


def check(contact_import, academy, **choices):
    mapping = Mapping(**contact_import.options["mapping"])
    return import_check(contact_import=contact_import, mapping=mapping, choices=Choices(**choices))


def start(contact_import, academy, captured, **kwargs):
    with captured(execute=True):
        bulk = import_start(
            contact_import=contact_import,
            user=academy.creator,
            token=preview_token(contact_import),
            **kwargs,
        )
    bulk.refresh_from_db()
    return bulk


def test_the_headers_of_a_file_are_matched_to_email_name_and_tags(academy):
    contact_import = upload(academy)
    assert contact_import.headers == ["Email", "Name", "Tags"]
    assert contact_import.options["mapping"] == {"email": 0, "name": 1, "tags": 2}
    assert contact_import.row_count == 10


def test_the_preview_counts_what_each_row_will_do(academy):
    contact_import = upload(academy)
    tally = check(contact_import, academy, offer=academy.bootcamp, tag="Spring import")
    # Ada already holds Python Bootcamp; Grace is a contact without it.
    assert (tally.rows, tally.create, tally.existing, tally.grant, tally.has_offer) == (
        10,
        6,
        2,
        7,
        1,
    )
    assert dict(tally.skipped) == {"not an email": 1, "same email as an earlier row": 1}
    assert not Contact.objects.filter(email="new1@example.com").exists()


def test_the_run_does_what_its_preview_counted(academy, django_capture_on_commit_callbacks):
    contact_import = upload(academy)
    tally = check(
        contact_import, academy, offer=academy.bootcamp, tag="Spring import", update_existing=True
    )
    bulk = start(contact_import, academy, django_capture_on_commit_callbacks)
    assert bulk.status == BulkAction.Status.DONE
    assert bulk.outcome["counted"] == {
        "added": tally.create,
        "updated": tally.update,
        "granted": tally.grant,
    }
    assert bulk.outcome["skipped"] == dict(tally.skipped)
    assert bulk.changed == tally.changes and bulk.processed == bulk.total == 10
    new1 = Contact.objects.get(site=academy.site, email="new1@example.com")
    assert new1.name == "New One"
    # "vip" is the site's tag "VIP": a tag is found whatever its letter case.
    assert sorted(new1.tags.values_list("name", flat=True)) == ["Spring import", "VIP"]
    assert new1.grants.get().source == Grant.Source.IMPORT
    academy.ada.refresh_from_db()
    assert academy.ada.name == "Ada King"
    edited = AccessEvent.objects.get(contact=academy.ada, kind=AccessEvent.Kind.CONTACT_EDITED)
    assert edited.details == {"name": ["Ada Lovelace", "Ada King"]}
    assert edited.bulk_action == bulk
    added = AccessEvent.objects.filter(kind=AccessEvent.Kind.CONTACT_ADDED, bulk_action=bulk)
    assert added.count() == 6


def test_importing_the_same_file_again_changes_nothing(academy, django_capture_on_commit_callbacks):
    first = upload(academy)
    check(first, academy, offer=academy.bootcamp, tag="Spring import", update_existing=True)
    start(first, academy, django_capture_on_commit_callbacks)
    events = AccessEvent.objects.count()
    again = upload(academy)
    tally = check(again, academy, offer=academy.bootcamp, tag="Spring import", update_existing=True)
    assert (tally.create, tally.update, tally.grant) == (0, 0, 0)
    bulk = start(again, academy, django_capture_on_commit_callbacks)
    assert bulk.changed == 0
    assert AccessEvent.objects.count() == events


def test_leaving_existing_contacts_as_they_are(academy, django_capture_on_commit_callbacks):
    contact_import = upload(academy)
    tally = check(contact_import, academy)
    assert tally.update == 0
    start(contact_import, academy, django_capture_on_commit_callbacks)
    academy.ada.refresh_from_db()
    assert academy.ada.name == "Ada Lovelace"
    assert not academy.ada.tags.filter(name="vip").exists()


def test_a_change_between_preview_and_confirm_is_shown_not_run(
    academy, django_capture_on_commit_callbacks
):
    contact_import = upload(academy)
    check(contact_import, academy, offer=academy.bootcamp)
    token = preview_token(contact_import)
    access_services.grant_offer(
        contact=academy.grace, offer=academy.bootcamp, actor=Actor.creator(academy.creator)
    )
    with pytest.raises(StalePreview) as refused:
        import_start(contact_import=contact_import, user=academy.creator, token=token)
    assert refused.value.tally.has_offer == 2
    assert not BulkAction.objects.exists()
    contact_import.refresh_from_db()
    assert contact_import.preview["has_offer"] == 2
    # Confirming the new counts starts it.
    bulk = start(contact_import, academy, django_capture_on_commit_callbacks)
    assert bulk.outcome["counted"]["granted"] == 6


def test_a_file_is_imported_once(academy, django_capture_on_commit_callbacks):
    contact_import = upload(academy)
    check(contact_import, academy)
    bulk = start(contact_import, academy, django_capture_on_commit_callbacks)
    # Its rows are what ran: the file itself is not kept once it starts.
    contact_import.refresh_from_db()
    assert bytes(contact_import.file) == b"" and contact_import.rows.count() == 10
    with pytest.raises(ValidationError, match=f"as bulk action #{bulk.pk}"):
        start(contact_import, academy, django_capture_on_commit_callbacks)


def test_undo_revokes_the_grants_and_tags_the_contacts_it_added(
    academy, django_capture_on_commit_callbacks
):
    contact_import = upload(academy)
    check(contact_import, academy, offer=academy.bootcamp)
    bulk = start(contact_import, academy, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        undo = start_undo(site=academy.site, user=academy.creator, original=bulk)
    undo.refresh_from_db()
    assert undo.changed == 7
    imported = Grant.objects.filter(source=Grant.Source.IMPORT)
    assert set(imported.values_list("status", flat=True)) == {AccessStatus.REVOKED}
    new1 = Contact.objects.get(email="new1@example.com")
    assert f"Import #{bulk.pk} undone" in new1.tags.values_list("name", flat=True)
    # Grace was a contact before: she is not tagged; Ada's own grant is untouched.
    assert not academy.grace.tags.exists()
    assert academy.ada.grants.get(offer=academy.bootcamp).status == AccessStatus.ACTIVE


def test_a_run_stopped_midway_goes_on_where_it_stopped(
    academy, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr("contacts.bulk.runner.CHUNK_SIZE", 3)
    contact_import = upload(academy)
    check(contact_import, academy, offer=academy.bootcamp)
    bulk = import_start(
        contact_import=contact_import, user=academy.creator, token=preview_token(contact_import)
    )
    calls = []
    action = registry.get("import_contacts")
    execute = action.execute

    def dies_on_the_second_chunk(self, ids):
        calls.append(ids)
        if len(calls) == 2:
            raise SystemExit("worker killed")
        return execute(self, ids)

    monkeypatch.setattr(action, "execute", dies_on_the_second_chunk)
    with pytest.raises(SystemExit):
        run_bulk_action(bulk.pk)
    monkeypatch.setattr(action, "execute", execute)
    bulk = run_bulk_action(bulk.pk)
    assert bulk.processed == 10 and bulk.outcome["counted"]["granted"] == 7
    assert Grant.objects.filter(offer=academy.bootcamp, source=Grant.Source.IMPORT).count() == 7


# --- Files that cannot be imported -----------------------------------------------------------


def xlsx(rows, formula_at=None) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    if formula_at:
        book.active[formula_at] = "=1+1"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    "data, message",
    [
        (b"%PDF-1.4\n\x00\x01binary", "not a CSV or XLSX file"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 old excel", "Excel 97–2003"),
        (b"PK\x03\x04not really a zip", "cannot be read"),
        ("Email\nb\xe9a@example.com\n".encode("latin-1"), r"not UTF-8 text \(line 2"),
        (b'Email,Name\nada@example.com,=HYPERLINK("http://x")\n', "Cell B2 holds a formula"),
        (b"Email,Name\nada@example.com,@SUM(A1)\n", "Cell B2 holds a formula"),
        (b"", "The file is empty"),
        (b"Email,Name\n", "no rows of contacts"),
        (b"Email,Name\nada@example.com,Ada,extra\n", "Row 2 has 3 cells"),
    ],
)
def test_a_bad_file_is_refused_in_plain_words(data, message):
    with pytest.raises(BadFile, match=message):
        read_sheet(data, file_name="f")


def test_an_xlsx_is_read_and_its_formulas_refused():
    sheet = read_sheet(
        xlsx([["Email", "Name"], ["a@example.com", "A"], ["b@example.com", 7]]), file_name="f.xlsx"
    )
    assert sheet.format == "xlsx" and sheet.rows == [["a@example.com", "A"], ["b@example.com", "7"]]
    with pytest.raises(BadFile, match="holds a formula"):
        read_sheet(xlsx([["Email"], ["a@example.com"]], formula_at="B2"), file_name="f.xlsx")


def test_semicolons_tabs_and_utf16_are_read():
    assert read_sheet(b"Email;Name\na@example.com;A\n", file_name="f").rows == [
        ["a@example.com", "A"]
    ]
    assert read_sheet(b"Email\tName\na@example.com\tA\n", file_name="f").rows == [
        ["a@example.com", "A"]
    ]
    utf16 = "Email\tName\na@example.com\tÅsa\n".encode("utf-16")
    assert read_sheet(utf16, file_name="f").rows == [["a@example.com", "Åsa"]]


def test_a_file_without_a_header_row_starts_with_its_first_contact():
    sheet = read_sheet(b"a@example.com,A\nb@example.com,B\n", file_name="f")
    assert sheet.headers == ["Column A", "Column B"] and sheet.first_number == 1
    assert len(sheet.rows) == 2


def test_more_rows_than_the_limit_are_refused():
    data = "Email\n" + "".join(f"c{i}@example.com\n" for i in range(MAX_ROWS + 1))
    with pytest.raises(BadFile, match="at most 100,000"):
        read_sheet(data.encode(), file_name="f")


def test_a_bad_file_keeps_nothing(academy):
    with pytest.raises(BadFile):
        upload(academy, b"\x00\x01\x02")
    assert not academy.site.contact_imports.exists()


def test_the_xlsx_of_tablib_itself_imports(academy):
    data = tablib.Dataset(["x@example.com", "X"], headers=["E-mail", "Full name"]).export("xlsx")
    contact_import = upload(academy, data, name="export.xlsx")
    assert contact_import.options["mapping"] == {"email": 0, "name": 1, "tags": None}


def test_the_example_file_of_the_upload_page_previews_its_two_bad_rows(academy):
    data = (Path(settings.BASE_DIR) / "static" / "files" / "contacts-example.csv").read_bytes()
    contact_import = upload(academy, data, name="contacts-example.csv")
    tally = check(contact_import, academy)
    assert (tally.rows, tally.invalid, tally.create, tally.existing) == (10, 2, 6, 2)
    assert tally.skipped["not an email"] == tally.skipped["same email as an earlier row"] == 1


def test_what_imports_keep_is_dropped_once_nobody_needs_it(
    academy, django_capture_on_commit_callbacks
):
    upload(academy)  # never imported: dropped after a week
    kept = upload(academy)
    imported = upload(academy)
    check(imported, academy, offer=academy.bootcamp)
    bulk = start(imported, academy, django_capture_on_commit_callbacks)
    later = timezone.now() + timedelta(days=8)
    ContactImport.objects.filter(pk=kept.pk).update(created_at=later - timedelta(days=1))
    assert forget_imports(now=later) == (1, 10)
    assert set(ContactImport.objects.values_list("pk", flat=True)) == {kept.pk, imported.pk}
    # Its Undo reads the audit trail, not the rows.
    with django_capture_on_commit_callbacks(execute=True):
        undo = start_undo(site=academy.site, user=academy.creator, original=bulk)
    undo.refresh_from_db()
    assert undo.changed == 7
