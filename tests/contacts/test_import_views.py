"""`Import` on the Contacts tab, through its pages: upload, map, preview, confirm, follow."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from contacts.models import Contact, ContactImport
from purchases.models import BulkAction
from tests.academy import build_academy
from tests.contacts.test_import_steps import TEN_ROWS
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def academy():
    return build_academy()


@pytest.fixture
def creator_client(client, academy):
    client.force_login(academy.creator)
    return client


def html(response) -> str:
    return response.content.decode()


def upload(client, text=TEN_ROWS, name="customers.csv"):
    data = text.encode() if isinstance(text, str) else text
    return client.post(reverse("contacts:import"), {"file": SimpleUploadedFile(name, data)})


def mapping(academy, **extra):
    return {"email": "0", "name": "1", "tags": "2", "existing": "keep", **extra}


def test_the_contacts_tab_offers_import(creator_client):
    page = html(creator_client.get(reverse("contacts:list")))
    assert f'href="{reverse("contacts:import")}">Import</a>' in page


def test_upload_map_preview_and_confirm(
    creator_client, academy, django_capture_on_commit_callbacks
):
    response = upload(creator_client)
    contact_import = ContactImport.objects.get()
    detail = reverse("contacts:import_detail", args=[contact_import.pk])
    assert response.status_code == 302 and response["Location"] == detail
    page = html(creator_client.get(detail))
    assert "Import customers.csv" in page and "new1@example.com" in page
    assert '<option value="0" selected>Email</option>' in page
    response = creator_client.post(detail, mapping(academy, offer=academy.bootcamp.pk))
    assert response.status_code == 302 and response["Location"] == f"{detail}#preview"
    page = html(creator_client.get(detail))
    assert "<dt>New contacts</dt><dd>6</dd>" in page
    assert "<dt>Will get the offer</dt><dd>7</dd>" in page
    assert "<dt>Cannot be imported</dt><dd>2</dd>" in page
    assert "<td>5</td><td>Not an email</td>" in page
    assert "<td>7</td><td>Same email as row 2</td>" in page
    assert not Contact.objects.filter(email="new1@example.com").exists()
    token = contact_import.__class__.objects.get().preview and _token(page)
    with django_capture_on_commit_callbacks(execute=True):
        response = creator_client.post(
            reverse("contacts:import_start", args=[contact_import.pk]),
            {"token": token, "reason": "Moving from another platform"},
        )
    bulk = BulkAction.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "bulk:detail", args=[bulk.pk]
    )
    summary = html(creator_client.get(response["Location"]))
    assert "Import customers.csv" in summary and "The rows of customers.csv" in summary
    assert "Contacts added: <strong>6</strong>" in summary
    assert "Offers granted: <strong>7</strong>" in summary
    assert "10 of 10 rows done" in summary
    assert Contact.objects.get(email="new1@example.com").grants.get().offer == academy.bootcamp
    # The import's page now points at its bulk action instead of offering it again.
    assert f"bulk action #{bulk.pk}" in html(creator_client.get(detail))
    assert "Import customers.csv" in html(creator_client.get(reverse("bulk:history")))

    popup = html(creator_client.get(reverse("bulk:undo_confirm", args=[bulk.pk])))
    assert f"The contacts it added stay, tagged “Import #{bulk.pk} undone”." in popup
    with django_capture_on_commit_callbacks(execute=True):
        response = creator_client.post(reverse("bulk:undo", args=[bulk.pk]), {"reason": ""})
    undo = BulkAction.objects.get(undo_of=bulk)
    assert response["Location"] == reverse("bulk:detail", args=[undo.pk])
    assert undo.changed == 7
    assert not Contact.objects.get(email="new1@example.com").grants.filter(status="active")


def _token(page: str) -> str:
    start = page.index('name="token" value="') + len('name="token" value="')
    return page[start : page.index('"', start)]


def test_the_rows_that_cannot_be_imported_download_as_csv(creator_client, academy):
    upload(creator_client)
    contact_import = ContactImport.objects.get()
    creator_client.post(
        reverse("contacts:import_detail", args=[contact_import.pk]), mapping(academy)
    )
    response = creator_client.get(reverse("contacts:import_invalid_rows", args=[contact_import.pk]))
    assert response["Content-Disposition"] == (
        'attachment; filename="customers-rows-not-imported.csv"'
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows == [
        ["Row", "Why", "Email", "Name", "Tags"],
        ["5", "not an email", "not-an-email", "Nobody", ""],
        ["7", "same email as row 2", "new1@EXAMPLE.com", "New One Again", ""],
    ]


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "This is not a CSV or XLSX file."),
        (b"Email\n=cmd|' /C calc'!A0\n", "holds a formula"),
        (b"Name,Tags\nAda,vip\n", "No column of this file holds email addresses"),
        (b"Contact,Tags\nAda (ada at example.com),vip\nx@example.com,\n", None),
    ],
)
def test_a_bad_file_is_refused_with_a_clear_message(creator_client, data, message):
    response = upload(creator_client, data)
    if message is None:
        # No column of emails: the mapping asks for one, and nothing is checked.
        contact_import = ContactImport.objects.get()
        response = creator_client.post(
            reverse("contacts:import_detail", args=[contact_import.pk]),
            {"email": "", "existing": "keep"},
        )
        assert response.status_code == 400
        assert "Choose the column of emails." in html(response)
        assert not contact_import.rows.exists()
        return
    assert response.status_code == 400
    assert message in html(response)
    assert not ContactImport.objects.exists()


def test_a_file_past_20_mb_is_refused_and_not_kept(creator_client):
    line = "someone.with.a.long.address@example.com,Some One,tag\n"
    data = "Email,Name,Tags\n" + line * (21 * 2**20 // len(line))
    response = upload(creator_client, data)
    assert response.status_code == 413
    assert "The file is larger than 20.0\xa0MB. Split it." in html(response)
    assert not ContactImport.objects.exists()


def test_a_file_too_large_is_refused_before_it_is_read(creator_client, settings):
    settings.FILE_UPLOAD_MAX_SIZE = 1024
    response = upload(creator_client, "Email\n" + "a@example.com\n" * 200)
    assert response.status_code == 413
    assert "The file is larger than 1.0\xa0KB. Split it." in html(response)
    assert not ContactImport.objects.exists()


def test_an_import_is_its_uploaders_alone(creator_client, client, academy):
    upload(creator_client)
    contact_import = ContactImport.objects.get()
    colleague = MembershipFactory(site=academy.site, role="admin").user
    client.force_login(colleague)
    for name in ("contacts:import_detail", "contacts:import_invalid_rows"):
        response = client.get(reverse(name, args=[contact_import.pk]))
        assert response.status_code == 404


def test_the_same_columns_twice_are_refused(creator_client, academy):
    upload(creator_client)
    contact_import = ContactImport.objects.get()
    response = creator_client.post(
        reverse("contacts:import_detail", args=[contact_import.pk]),
        {"email": "0", "name": "0", "existing": "keep"},
    )
    assert response.status_code == 400
    assert "Each column can be mapped once" in html(response)


def test_a_stale_preview_shows_the_new_counts(creator_client, academy):
    upload(creator_client)
    contact_import = ContactImport.objects.get()
    detail = reverse("contacts:import_detail", args=[contact_import.pk])
    creator_client.post(detail, mapping(academy))
    token = _token(html(creator_client.get(detail)))
    Contact.objects.create(site=academy.site, email="new2@example.com")
    response = creator_client.post(
        reverse("contacts:import_start", args=[contact_import.pk]), {"token": token}
    )
    assert response.status_code == 409
    page = html(response)
    assert "Your contacts changed since the preview" in page
    assert "<dt>New contacts</dt><dd>5</dd>" in page
    assert not BulkAction.objects.exists()
