"""`Add contact` on the Contacts tab and `Edit contact` on a contact's profile and preview.

Each is one URL: GET shows the popup (a page of its own without JavaScript), POST makes
the change through the services. A refusal comes back as the same popup with a 400,
its message next to the field, what was typed kept, and nothing changed.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from contacts.forms import AddContactForm, EditContactForm
from contacts.models import Contact
from contacts.services import EmailTaken, StaleContact, contact_update
from contacts.views import _shown_step
from kajaccess.outcomes import Outcome
from kajaccess.web import member_actor, next_url, permission_required, render_changed, render_popup
from purchases.access.emails import GrantEmail
from purchases.access.enrolment import contact_add


def _refused(form, error: ValidationError) -> dict:
    """Put a service's refusal on the form; the context that goes with it."""
    context = {}
    if isinstance(error, EmailTaken):
        context["taken"] = error.contact
    if isinstance(error, StaleContact):
        # Saving again, now that the creator has been told, takes what they typed.
        form.data = form.data.copy()
        form.data["shown_name"], form.data["shown_email"] = error.contact.name, error.contact.email
        context["stale"] = error.contact
    form.add_error(None, error)
    return context


def _add_popup(request, form, status: int = 200, **context):
    return render_popup(
        request,
        "contacts/partials/add_contact_form.html",
        {
            **context,
            "form": form,
            "action_url": reverse("contacts:add"),
            "back_url": next_url(request, reverse("contacts:list")),
        },
        title="Add contact",
        active_tab="contacts",
        status=status,
    )


@permission_required("kajaccess.edit_contacts")
@require_http_methods(["GET", "POST"])
def add_contact(request):
    if request.method == "GET":
        return _add_popup(request, AddContactForm(site=request.site))
    form = AddContactForm(request.POST, site=request.site)
    if not form.is_valid():
        return _add_popup(request, form, status=400)
    data = form.cleaned_data
    try:
        contact, granted = contact_add(
            site=request.site,
            email=data["email"],
            name=data["name"],
            tags=data["tags"],
            new_tag_names=data["new_tags"],
            offer=data["offer"],
            actor=member_actor(request),
            library_sign_in=data["library_sign_in"],
            site_url=request.build_absolute_uri("/"),
        )
    except ValidationError as error:
        return _add_popup(request, form, status=400, **_refused(form, error))
    words = f"{contact.display_name} is added to your contacts."
    level = None
    if granted is not None:
        words += f" {granted.message}"
        if granted.changed and data["send_email"]:
            email = GrantEmail(granted.obj, request.build_absolute_uri(reverse("library:index")))
            # Outside a transaction, as a request is, this sends now, so a failure can be told.
            transaction.on_commit(email.send)
            told, level = email.told(Outcome(contact, True, words))
            words = told.message
    if data["library_sign_in"]:
        words += " They can sign in to the Library once they set a password."
    back_url = next_url(request, reverse("contacts:list"))
    return render_changed(
        request,
        Outcome(contact, True, words),
        next_url=back_url,
        events={"accessChanged": {"contact": contact.pk}},
        level=level,
    )


def _edit_popup(request, contact: Contact, form, status: int = 200, **context):
    return render_popup(
        request,
        "contacts/partials/edit_contact_form.html",
        {
            **context,
            "contact": contact,
            "form": form,
            "action_url": reverse("contacts:edit", args=[contact.pk]),
            "back_url": next_url(request, reverse("contacts:profile", args=[contact.pk])),
        },
        title="Edit contact",
        active_tab="contacts",
        status=status,
    )


@permission_required("kajaccess.edit_contacts")
@require_http_methods(["GET", "POST"])
def edit_contact(request, contact_id: int):
    contact = get_object_or_404(Contact, site=request.site, pk=contact_id)
    if request.method == "GET":
        shown = {"name": contact.name, "email": contact.email}
        initial = {**shown, "shown_name": contact.name, "shown_email": contact.email}
        return _edit_popup(request, contact, EditContactForm(initial=initial))
    form = EditContactForm(request.POST)
    if not form.is_valid():
        return _edit_popup(request, contact, form, status=400)
    data = form.cleaned_data
    try:
        outcome = contact_update(
            contact=contact,
            name=data["name"],
            email=data["email"],
            shown_name=data["shown_name"],
            shown_email=data["shown_email"],
            actor=member_actor(request),
        )
    except ValidationError as error:
        status = 409 if isinstance(error, StaleContact) else 400
        return _edit_popup(request, contact, form, status=status, **_refused(form, error))
    # The Contacts tab's panel and table refresh themselves; a profile's header is redrawn.
    on_profile = _shown_step(request) is None
    back_url = next_url(request, reverse("contacts:profile", args=[contact.pk]))
    return render_changed(
        request,
        outcome,
        next_url=back_url,
        template="contacts/partials/profile_header_changed.html" if on_profile else "",
        context={"contact": outcome.obj, "back_path": back_url},
        events={"accessChanged": {"contact": contact.pk}},
    )
