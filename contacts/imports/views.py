"""`Import` on the Contacts tab: upload a file, map its columns, see the preview, confirm.

Pages of their own (a file upload and a table of its first rows do not fit a popup on a
phone). Each import is its uploader's: another member, or another site, gets a 404.
"""

from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from contacts.imports.files import too_large
from contacts.imports.forms import ImportFileForm, ImportForm, StartImportForm
from contacts.imports.plan import Tally
from contacts.imports.steps import (
    StalePreview,
    import_check,
    import_start,
    import_upload,
    preview_token,
)
from contacts.models import ContactImport
from kajaccess.spreadsheet import csv_response
from kajaccess.web import NotFound, permission_required
from purchases.models import BulkAction

PERMISSIONS = ("kajaccess.edit_contacts", "kajaccess.run_bulk_actions")
INVALID_SHOWN = 50


def _import(request, import_id: int) -> ContactImport:
    found = (
        ContactImport.objects.defer("file")
        .filter(site=request.site, created_by=request.user, pk=import_id)
        .first()
    )
    if found is None:
        raise NotFound("This import is not one you uploaded on this site.")
    return found


def _upload_page(request, form, status=200):
    return render(
        request,
        "contacts/import/upload.html",
        {"form": form, "active_tab": "contacts"},
        status=status,
    )


@permission_required(*PERMISSIONS)
@require_http_methods(["GET", "POST"])
def upload(request):
    """`Import`: choose a file. It is read and kept, and nothing else changes, until confirmed."""
    if request.method == "GET":
        return _upload_page(request, ImportFileForm())
    form = ImportFileForm(request.POST, request.FILES)
    if getattr(request, "upload_too_large", False):
        form.errors.clear()
        form.add_error("file", too_large())
        return _upload_page(request, form, status=413)
    if not form.is_valid():
        return _upload_page(request, form, status=400)
    file = form.cleaned_data["file"]
    try:
        contact_import = import_upload(
            site=request.site, user=request.user, name=file.name, data=file.read()
        )
    except ValidationError as error:
        form.add_error(None, error)
        return _upload_page(request, form, status=400)
    return redirect("contacts:import_detail", contact_import.pk)


def _detail_page(request, contact_import, form, *, start_form=None, status=200, **context):
    checked = contact_import.checked_at is not None and not form.is_bound
    preview = Tally.from_dict(contact_import.preview) if checked else None
    if preview is not None and start_form is None:
        start_form = StartImportForm(initial={"token": preview_token(contact_import)})
    bulk = None
    if contact_import.started_at:
        bulk = BulkAction.objects.filter(
            site=request.site, action="import_contacts", params__import=contact_import.pk
        ).first()
    return render(
        request,
        "contacts/import/detail.html",
        {
            "contact_import": contact_import,
            "form": form,
            "preview": preview,
            "start_form": start_form,
            "invalid_rows": contact_import.rows.exclude(problem="")[:INVALID_SHOWN]
            if preview
            else [],
            "bulk": bulk,
            "active_tab": "contacts",
            **context,
        },
        status=status,
    )


@permission_required(*PERMISSIONS, lookup=_import)
@require_http_methods(["GET", "POST"])
def detail(request, import_id: int):
    """The file's columns to map and, once checked, what importing it would do."""
    contact_import = _import(request, import_id)
    if request.method == "GET" or contact_import.started_at:
        initial = ImportForm.initial_of(contact_import)
        form = ImportForm(initial=initial, contact_import=contact_import)
        return _detail_page(request, contact_import, form)
    form = ImportForm(request.POST, contact_import=contact_import)
    if not form.is_valid():
        return _detail_page(request, contact_import, form, status=400)
    try:
        import_check(contact_import=contact_import, mapping=form.mapping(), choices=form.choices())
    except ValidationError as error:
        form.add_error(None, error)
        return _detail_page(request, contact_import, form, status=400)
    return redirect(reverse("contacts:import_detail", args=[contact_import.pk]) + "#preview")


@permission_required(*PERMISSIONS, lookup=_import)
@require_POST
def start(request, import_id: int):
    """Confirming the preview: the import runs as a bulk action; its page shows the progress."""
    contact_import = _import(request, import_id)
    initial = ImportForm.initial_of(contact_import)
    form = ImportForm(initial=initial, contact_import=contact_import)
    start_form = StartImportForm(request.POST)
    if not start_form.is_valid():
        return _detail_page(request, contact_import, form, start_form=start_form, status=400)
    try:
        bulk = import_start(
            contact_import=contact_import,
            user=request.user,
            token=start_form.cleaned_data["token"],
            reason=start_form.cleaned_data["reason"],
            library_url=request.build_absolute_uri(reverse("library:index")),
        )
    except StalePreview as error:
        contact_import.refresh_from_db()
        return _detail_page(request, contact_import, form, refusal=error.message, status=409)
    except ValidationError as error:
        contact_import.refresh_from_db()
        refusal = " ".join(error.messages)
        return _detail_page(request, contact_import, form, refusal=refusal, status=409)
    return redirect("bulk:detail", bulk.pk)


@permission_required(*PERMISSIONS, lookup=_import)
@require_GET
def invalid_rows(request, import_id: int):
    """The rows that cannot be imported, with why, as the file had them: fix them, import them."""
    contact_import = _import(request, import_id)
    rows = (
        [row.number, row.problem, *row.cells]
        for row in contact_import.rows.exclude(problem="").order_by("number").iterator(2000)
    )
    stem = slugify(contact_import.file_name.rsplit(".", 1)[0]) or "contacts"
    return csv_response(
        ["Row", "Why", *contact_import.headers], rows, filename=f"{stem}-rows-not-imported.csv"
    )
