"""Bulk actions from the Contacts tab.

The action bar posts its selection to the confirmation popup, which shows what will
change before anything does (a page of its own without JavaScript). Confirming queues
the bulk action and leads to its page, whose progress bar polls until the run is done.
The "Bulk actions" tab lists past runs and offers Undo for a bulk grant or revoke.
"""

from dataclasses import dataclass
from functools import cached_property

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from contacts.bulk import actions as bulk_actions
from contacts.bulk.actions import BulkActionType, registry
from contacts.bulk.forms import BulkActionForm, ConfirmForm, PasteEmailsForm, SelectionForm
from contacts.bulk.history import Entry, entries_for, site_bulk_actions
from contacts.bulk.pasted import pasted_selection_create
from contacts.bulk.runner import start_bulk_action, start_undo
from contacts.bulk.selection import outside_site, preview, selected_contacts
from contacts.export import HEADER, contact_rows
from contacts.models import PastedSelection
from kajaccess.spreadsheet import csv_response
from kajaccess.web import check_permission, permission_required, render_popup, wants_partial
from purchases.models import BulkAction

BULK_ACTIONS_PER_PAGE = 25


# The popup's fields are named like the Contacts tab's filters; their ids must differ.
AUTO_ID = "bulk-%s"


@dataclass
class Proposal:
    """A bulk action as the confirmation popup shows it, before it starts."""

    action: type[BulkActionType]
    selection: dict
    selected: int
    params_form: object | None
    confirm_form: ConfirmForm
    action_url: str
    back_url: str
    preview_url: str = ""
    query: str = ""
    undo_of: BulkAction | None = None
    # The bulk action as it would start, once its parameters are valid.
    bulk: BulkAction | None = None

    @property
    def title(self) -> str:
        if self.undo_of is not None:
            return f"{self.action.label} #{self.undo_of.pk} for {self.selected_text}?"
        return f"{self.action.label} for {self.selected_text}?"

    @property
    def ready(self) -> bool:
        """The parameters are chosen, so the numbers can be counted and it can be confirmed."""
        return self.bulk is not None

    @cached_property
    def preview(self) -> bulk_actions.Preview:
        """Counted only when the popup shows it: it reads the whole selection."""
        return preview(self.bulk)

    @property
    def skipped(self) -> list[tuple[str, int]]:
        return sorted(self.preview.skipped.items(), key=lambda item: (-item[1], item[0]))

    @property
    def skipped_count(self) -> int:
        return self.preview.skipped.total()

    @property
    def prompt(self) -> str:
        return f"{self.selected_text} selected. {self.action.prompt}"

    @property
    def selected_text(self) -> str:
        return ngettext("%d contact", "%d contacts", self.selected) % self.selected

    @property
    def suggestions(self) -> list[str]:
        """What the parameter form offers to pick from as the creator types, if anything."""
        return getattr(self.params_form, "suggestions", [])

    @property
    def explanation(self) -> str:
        """What an undo puts back, said before it starts."""
        if self.undo_of is None:
            return ""
        undo = self.action(self.bulk)
        undo._original = self.undo_of
        return undo.explain()


def _count(request, selection: dict) -> int:
    site, user = request.site, request.user
    return selected_contacts(site, selection, user=user).count() + outside_site(
        site, selection, user=user
    )


def _propose(
    request,
    *,
    action: type[BulkActionType],
    selection: dict,
    params_data,
    confirm_form_data,
    action_url: str,
    back_url: str,
    preview_url: str = "",
    query: str = "",
    undo_of: BulkAction | None = None,
) -> Proposal:
    """Bind the action's parameters and, once they are valid, count what it will change."""
    selected = _count(request, selection)
    params_form = None
    params = None  # until they are known, nothing can be counted
    if undo_of is not None:
        params = {"undo_of": undo_of.pk}
    elif action.form_class is None:
        params = {}
    else:
        params_form = action.form_class(params_data, site=request.site, auto_id=AUTO_ID)
        if params_form.is_bound and params_form.is_valid():
            params = params_form.params()
    if confirm_form_data is None:
        initial = {name: request.POST.get(name, "") for name in ("reason", "confirm_count")}
        confirm_form = ConfirmForm(initial=initial, selected=selected, auto_id=AUTO_ID)
    else:
        confirm_form = ConfirmForm(confirm_form_data, selected=selected, auto_id=AUTO_ID)
    proposal = Proposal(
        action=action,
        selection=selection,
        selected=selected,
        params_form=params_form,
        confirm_form=confirm_form,
        action_url=action_url,
        back_url=back_url,
        preview_url=preview_url,
        query=query,
        undo_of=undo_of,
    )
    if params is not None:
        proposal.bulk = BulkAction(
            site=request.site,
            created_by=request.user,
            action=action.name,
            params=params,
            selection=selection,
        )
    return proposal


def _confirmation(request, proposal: Proposal, status: int = 200):
    return render_popup(
        request,
        "contacts/bulk/confirm.html",
        {"proposal": proposal},
        title=proposal.action.label,
        active_tab="bulk" if proposal.undo_of else "contacts",
        status=status,
        variant="bulk",
    )


def _refusal(request, errors: list[str], back_url: str, title: str = "Nothing was changed"):
    context = {"errors": errors, "back_url": back_url, "title": title}
    return render_popup(
        request,
        "partials/refusal.html",
        context,
        title=title,
        active_tab="contacts",
        status=400,
        variant="bulk",
    )


def _contacts_url(query: str = "") -> str:
    url = reverse("contacts:list")
    return f"{url}?{query}" if query else url


def _selection_form_errors(form) -> list[str]:
    return [message for errors in form.errors.values() for message in errors]


def _back_to_contacts(request) -> str:
    query = QueryDict(request.POST.get("query", ""), mutable=True)
    query.pop("page", None)
    return _contacts_url(query.urlencode())


def _action_form(request) -> BulkActionForm:
    return BulkActionForm(request.POST, site=request.site, user=request.user, menu=registry.menu())


def _menu_proposal(request, form: BulkActionForm, *, confirming: bool) -> Proposal:
    action = registry.get(form.cleaned_data["action"])
    check_permission(request, action.permission)
    params_data = request.POST
    if not confirming and action.form_class is not None:
        # The first time the popup opens, nothing is chosen yet: no errors to show.
        if not any(name in request.POST for name in action.form_class.base_fields):
            params_data = None
    return _propose(
        request,
        action=action,
        selection=form.selection(),
        params_data=params_data,
        confirm_form_data=request.POST if confirming else None,
        action_url=reverse("bulk:start"),
        preview_url=reverse("bulk:preview"),
        back_url=_contacts_url(form.cleaned_data["query"]),
        query=form.cleaned_data["query"],
    )


@permission_required("kajaccess.run_bulk_actions")
@require_POST
def bulk_preview(request):
    """The confirmation popup for the action bar's selection; it changes nothing."""
    form = _action_form(request)
    if not form.is_valid():
        return _refusal(request, _selection_form_errors(form), _back_to_contacts(request))
    proposal = _menu_proposal(request, form, confirming=False)
    bad_params = proposal.params_form is not None and proposal.params_form.errors
    return _confirmation(request, proposal, status=400 if bad_params else 200)


def _started(request, bulk: BulkAction):
    # No message: the bulk action's page says that it started while it runs, and what is
    # true once it is done, where a message would still say "started".
    url = reverse("bulk:detail", args=[bulk.pk])
    if wants_partial(request):
        return HttpResponseClientRedirect(url)
    return redirect(url)


@permission_required("kajaccess.run_bulk_actions")
@require_POST
def bulk_start(request):
    """Confirming the popup: store its contacts, queue the bulk action and go to its page."""
    form = _action_form(request)
    if not form.is_valid():
        return _refusal(request, _selection_form_errors(form), _back_to_contacts(request))
    proposal = _menu_proposal(request, form, confirming=True)
    confirm = proposal.confirm_form
    if proposal.ready and confirm.is_valid():
        try:
            bulk = start_bulk_action(
                site=request.site,
                user=request.user,
                action=proposal.action.name,
                params=proposal.bulk.params,
                selection=proposal.selection,
                reason=confirm.cleaned_data["reason"],
                expected_total=proposal.selected,
            )
        except ValidationError as error:
            confirm.add_error(None, error)
        else:
            return _started(request, bulk)
    return _confirmation(request, proposal, status=400)


def _undoable(request, bulk_id: int) -> BulkAction:
    return get_object_or_404(
        BulkAction.objects.prefetch_related("undone_by"), site=request.site, pk=bulk_id
    )


def _undo_proposal(request, original: BulkAction, confirm_form_data) -> Proposal:
    selection = {"undo_of": original.pk}
    action = bulk_actions.action_for(original).undo_class
    check_permission(request, action.permission)
    return _propose(
        request,
        action=action,
        selection=selection,
        params_data=None,
        confirm_form_data=confirm_form_data,
        action_url=reverse("bulk:undo", args=[original.pk]),
        back_url=reverse("bulk:history"),
        undo_of=original,
    )


def _undo_refusal(request, original: BulkAction):
    action = bulk_actions.action_for(original)
    if action.undone_by is not None:
        message = f"Bulk action #{original.pk} was already undone by #{action.undone_by.pk}."
    elif action.undo_class is None:
        message = f"{action.label} cannot be undone."
    elif original.status != BulkAction.Status.DONE:
        message = f"Bulk action #{original.pk} is still running: undo it once it is done."
    else:
        message = f"Bulk action #{original.pk} changed nothing, so there is nothing to undo."
    return _refusal(request, [message], reverse("bulk:history"))


@permission_required("kajaccess.run_bulk_actions", lookup=_undoable)
@require_GET
def undo_confirm(request, bulk_id: int):
    """`Undo`: the same popup, with the preview of putting things back."""
    original = _undoable(request, bulk_id)
    if not bulk_actions.action_for(original).can_undo:
        return _undo_refusal(request, original)
    return _confirmation(request, _undo_proposal(request, original, None))


@permission_required("kajaccess.run_bulk_actions", lookup=_undoable)
@require_POST
def undo(request, bulk_id: int):
    original = _undoable(request, bulk_id)
    if not bulk_actions.action_for(original).can_undo:
        return _undo_refusal(request, original)
    proposal = _undo_proposal(request, original, request.POST)
    confirm = proposal.confirm_form
    if confirm.is_valid():
        try:
            bulk = start_undo(
                site=request.site,
                user=request.user,
                original=original,
                reason=confirm.cleaned_data["reason"],
                expected_total=proposal.selected,
            )
        except ValidationError as error:
            confirm.add_error(None, error)
        else:
            return _started(request, bulk)
    return _confirmation(request, proposal, status=400)


def _bulk_action(request, bulk_id: int) -> Entry:
    bulk = get_object_or_404(site_bulk_actions(request.site), pk=bulk_id)
    return entries_for([bulk])[0]


@permission_required("kajaccess.run_bulk_actions", lookup=_undoable)
@require_GET
def bulk_action(request, bulk_id: int):
    """A bulk action's page; for HTMX, its progress, polled until the run is done."""
    entry = _bulk_action(request, bulk_id)
    if wants_partial(request):
        return render(request, "contacts/bulk/progress.html", {"entry": entry})
    return render(request, "contacts/bulk/detail.html", {"entry": entry, "active_tab": "bulk"})


@permission_required("kajaccess.run_bulk_actions")
@require_GET
def history(request):
    """The "Bulk actions" tab: the site's bulk actions, newest first."""
    paginator = Paginator(site_bulk_actions(request.site), BULK_ACTIONS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    entries = entries_for(page.object_list)
    return render(
        request,
        "contacts/bulk/history.html",
        {"page": page, "entries": entries, "active_tab": "bulk"},
    )


@permission_required("kajaccess.export_contacts")
@require_http_methods(["GET", "POST"])
def bulk_export(request):
    """`Export CSV`: the selected contacts, streamed, whatever their number."""
    data = request.POST if request.method == "POST" else request.GET
    form = SelectionForm(data, site=request.site, user=request.user)
    if not form.is_valid():
        back_url = _contacts_url(data.get("query", ""))
        return _refusal(request, _selection_form_errors(form), back_url, "Nothing to export")
    try:
        contacts = selected_contacts(request.site, form.selection(), user=request.user)
    except ValidationError as error:
        back_url = _contacts_url(data.get("query", ""))
        return _refusal(request, error.messages, back_url, "Nothing to export")
    filename = f"{request.site.slug}-contacts-{timezone.localdate():%Y-%m-%d}.csv"
    return csv_response(HEADER, contact_rows(contacts), filename=filename)


def _paste_popup(request, form: PasteEmailsForm, status: int = 200):
    return render_popup(
        request,
        "contacts/bulk/paste.html",
        {"form": form, "back_url": _contacts_url()},
        title="Paste emails",
        active_tab="contacts",
        status=status,
        variant="bulk",
    )


@permission_required("kajaccess.run_bulk_actions")
@require_http_methods(["GET", "POST"])
def paste_emails(request):
    """`Paste emails`: the contacts a list of emails names become the Contacts tab's selection."""
    if request.method == "GET":
        return _paste_popup(request, PasteEmailsForm())
    form = PasteEmailsForm(request.POST)
    if form.is_valid():
        try:
            pasted = pasted_selection_create(
                site=request.site, user=request.user, text=form.cleaned_data["emails"]
            )
        except ValidationError as error:
            form.add_error("emails", error)
        else:
            url = f"{reverse('contacts:list')}?pasted={pasted.pk}"
            if wants_partial(request):
                return HttpResponseClientRedirect(url)
            return redirect(url)
    return _paste_popup(request, form, status=400)


def _pasted(request, pasted_id: int) -> PastedSelection:
    # A pasted list belongs to the member who pasted it, as its selection does: anyone
    # else is told it is not there, as for another site's.
    return get_object_or_404(
        PastedSelection, site=request.site, created_by=request.user, pk=pasted_id
    )


@permission_required("kajaccess.run_bulk_actions", lookup=_pasted)
@require_GET
def pasted_not_found(request, pasted_id: int):
    """The emails of a paste that match no contact, and the entries that are not emails."""
    pasted = _pasted(request, pasted_id)
    rows = [[email, "No contact has this email"] for email in pasted.not_found]
    rows += [[entry, "Not an email"] for entry in pasted.invalid]
    filename = f"{request.site.slug}-emails-not-found-{pasted.created_at:%Y-%m-%d}.csv"
    return csv_response(["Email", "Why"], rows, filename=filename)
