"""The steps of an import: keep an uploaded file, check its rows with a mapping, and start
it as a bulk action once the creator confirms what its preview counted."""

import hashlib
import json
import os
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from contacts.bulk.runner import run_bulk_action_task
from contacts.imports.files import BadFile, read_sheet
from contacts.imports.plan import Choices, Tally, choices_from, preview
from contacts.imports.rows import Mapping, guess_mapping, read_rows
from contacts.models import ContactImport, ImportRow
from kajaccess.models import Site
from purchases.access.services import check_reason
from purchases.models import BulkAction

ROWS_PER_INSERT = 2000
SAMPLE_ROWS = 5
HEADER_MAX_LENGTH = 80


class StalePreview(ValidationError):
    """What the import would do changed since its preview; `tally` is what it would do now."""

    def __init__(self, tally: Tally):
        self.tally = tally
        super().__init__(
            "Your contacts changed since the preview, so the counts below are new. Check "
            "them, then confirm again. Nothing was imported.",
            code="stale",
        )


def import_upload(*, site: Site, user, name: str, data: bytes) -> ContactImport:
    """Keep an uploaded file with its headers, its first rows and its obvious columns.

    Raises BadFile (a ValidationError) for a file that cannot be imported; nothing is kept.
    """
    sheet = read_sheet(data, file_name=name)
    mapping = guess_mapping(sheet)
    if mapping["email"] is None and not any(
        "@" in cell for row in sheet.rows[:100] for cell in row
    ):
        raise BadFile(
            "No column of this file holds email addresses, and every contact needs one. "
            "Add a column of emails, then upload it again."
        )
    headers = [
        " ".join(header.split())[:HEADER_MAX_LENGTH] or f"Column {index + 1}"
        for index, header in enumerate(sheet.headers)
    ]
    return ContactImport.objects.create(
        site=site,
        created_by=user,
        file_name=os.path.basename(name)[:255] or "contacts.csv",
        file=data,
        headers=headers,
        sample=[[cell[:HEADER_MAX_LENGTH] for cell in row] for row in sheet.rows[:SAMPLE_ROWS]],
        row_count=len(sheet.rows),
        options={"mapping": mapping},
    )


def options_of(mapping: Mapping, choices: Choices) -> dict:
    return {
        "mapping": {"email": mapping.email, "name": mapping.name, "tags": mapping.tags},
        "offer": choices.offer.pk if choices.offer else None,
        "send_email": choices.send_email,
        "tag": choices.tag,
        "update_existing": choices.update_existing,
    }


def checked_choices(contact_import: ContactImport) -> Choices:
    """The choices of the import's last check, with its Offer as it is now."""
    return choices_from(contact_import.site, contact_import.options)


def preview_token(contact_import: ContactImport) -> str:
    """A fingerprint of the last check: what the creator confirms is what was shown."""
    shown = json.dumps([contact_import.options, contact_import.preview], sort_keys=True)
    return hashlib.sha256(shown.encode()).hexdigest()[:32]


def import_check(*, contact_import: ContactImport, mapping: Mapping, choices: Choices) -> Tally:
    """Read every row of the file through `mapping`, store them, and count what importing
    them with `choices` would do. Nothing outside the import changes."""
    if contact_import.started_at is not None:
        raise ValidationError("This file was imported already.", code="started")
    if (
        contact_import.options.get("mapping") != options_of(mapping, choices)["mapping"]
        or contact_import.checked_at is None
    ):
        data = ContactImport.objects.filter(pk=contact_import.pk).values_list("file", flat=True)
        sheet = read_sheet(bytes(data.get()), file_name=contact_import.file_name)
        with transaction.atomic():
            contact_import.rows.all().delete()
            batch = []
            for row in read_rows(sheet, mapping):
                batch.append(
                    ImportRow(
                        contact_import=contact_import,
                        number=row.number,
                        email=row.email,
                        name=row.name,
                        tags=row.tags,
                        problem=row.problem,
                        cells=row.cells,
                    )
                )
                if len(batch) == ROWS_PER_INSERT:
                    ImportRow.objects.bulk_create(batch)
                    batch = []
            ImportRow.objects.bulk_create(batch)
    tally = preview(contact_import, choices)
    contact_import.options = options_of(mapping, choices)
    contact_import.preview = tally.as_dict()
    contact_import.checked_at = timezone.now()
    contact_import.save(update_fields=["options", "preview", "checked_at"])
    return tally


def import_start(
    *,
    contact_import: ContactImport,
    user,
    token: str,
    reason: str = "",
    library_url: str = "",
) -> BulkAction:
    """Queue the import, as checked and previewed, as a bulk action of the site.

    `token` is the preview the creator confirmed (`preview_token`): if the import was
    checked again since, or what it would do is no longer what its preview counted,
    nothing starts (StalePreview, with the new counts stored for the creator to see).
    A file is imported once.
    """
    reason = check_reason(reason)
    choices = checked_choices(contact_import)
    tally = preview(contact_import, choices)
    with transaction.atomic():
        # Its file, up to 20 MB, is not read: the rows are what the start needs.
        locked = ContactImport.objects.defer("file").select_for_update().get(pk=contact_import.pk)
        if locked.started_at is not None:
            bulk = BulkAction.objects.filter(
                site=locked.site, action="import_contacts", params__import=locked.pk
            ).first()
            raise ValidationError(
                f"This file was imported already, as bulk action #{bulk.pk}."
                if bulk
                else "This file was imported already.",
                code="started",
            )
        if locked.checked_at is None or token != preview_token(locked):
            raise ValidationError(
                "The mapping or the choices changed since this preview (in another window?). "
                "Check the file again, then confirm. Nothing was imported.",
                code="stale",
            )
        if tally.as_dict() != locked.preview:
            # Kept, not rolled back: the page shows the creator the new counts to confirm.
            locked.preview = tally.as_dict()
            locked.save(update_fields=["preview"])
            stale = StalePreview(tally)
        else:
            stale, bulk = None, _queue_import(locked, user, choices, reason, library_url, tally)
    if stale is not None:
        raise stale
    return bulk


def _queue_import(locked, user, choices, reason, library_url, tally) -> BulkAction:
    bulk = BulkAction.objects.create(
        site=locked.site,
        created_by=user,
        action="import_contacts",
        params={
            "import": locked.pk,
            "file_name": locked.file_name,
            "offer": choices.offer.pk if choices.offer else None,
            "send_email": choices.send_email,
            "tag": choices.tag,
            "update_existing": choices.update_existing,
            "library_url": library_url,
        },
        selection={"import": locked.pk},
        reason=reason,
        total=tally.rows,
    )
    # The rows are what runs now; the file is not needed any more.
    locked.started_at = timezone.now()
    locked.save(update_fields=["started_at"])
    ContactImport.objects.filter(pk=locked.pk).update(file=b"")
    transaction.on_commit(lambda: run_bulk_action_task.enqueue(bulk.pk))
    return bulk


def forget_imports(*, now=None) -> tuple[int, int]:
    """Drop what imports keep once nobody needs it; how many files and rows were dropped.

    A file uploaded and never imported is kept IMPORT_KEPT_DAYS, for its uploader to come
    back to; an import whose run is done keeps its record, not its rows (its Undo reads
    the audit trail, never the rows).
    """
    now = now or timezone.now()
    kept_since = now - timedelta(days=settings.IMPORT_KEPT_DAYS)
    files, _ = ContactImport.objects.filter(
        started_at__isnull=True, created_at__lt=kept_since
    ).delete()
    done = BulkAction.objects.filter(
        action="import_contacts", status=BulkAction.Status.DONE
    ).values_list("params__import", flat=True)
    rows, _ = ImportRow.objects.filter(
        contact_import__started_at__isnull=False, contact_import_id__in=list(done)
    ).delete()
    return files, rows


@task()
def forget_imports_task() -> str:
    files, rows = forget_imports()
    return f"{files} files and {rows} rows of imports dropped"
