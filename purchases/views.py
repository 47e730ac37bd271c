"""Changing a contact's access from the dashboard, and the site's Activity tab.

Each change has two URLs: the popup that asks for confirmation (GET; a page of its own
without JavaScript) and the change itself (POST only). After a change the page's lists
refresh themselves on the `accessChanged` event and the popup closes.
"""

import logging
from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.mail import BadHeaderError, send_mail
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from contacts.models import Contact
from contacts.table import page_number
from kajaccess import outcomes as kajaccess_outcomes
from kajaccess.actors import Actor
from kajaccess.web import member_required, next_url, wants_partial
from products.models import Product
from purchases.access import services
from purchases.billing.selectors import billing_subscriptions
from purchases.filters import ActivityFilter
from purchases.forms import AccessChangeForm, GrantOfferForm
from purchases.models import Grant

EVENTS_PER_PAGE = 50

logger = logging.getLogger(__name__)


@dataclass
class AccessChange:
    """Revoking or restoring a whole Offer, or one Product of it, for one contact."""

    verb: str  # "revoke" or "restore"
    grant: Grant
    product: Product | None

    @property
    def contact(self) -> Contact:
        return self.grant.contact

    @property
    def subject(self) -> str:
        return self.product.title if self.product else self.grant.offer.title

    def url(self, name: str) -> str:
        args = [self.grant.contact_id, self.grant.pk]
        if self.product is not None:
            return reverse(f"contacts:{self.verb}_product{name}", args=[*args, self.product.pk])
        return reverse(f"contacts:{self.verb}{name}", args=args)

    def apply(self, actor: Actor, reason: str) -> kajaccess_outcomes.Outcome:
        if self.verb == "revoke" and self.product is None:
            return services.revoke_grant(grant=self.grant, actor=actor, reason=reason)
        if self.verb == "revoke":
            return services.revoke_product(
                grant=self.grant, product=self.product, actor=actor, reason=reason
            )
        return services.restore_access(
            grant=self.grant, product=self.product, actor=actor, reason=reason
        )


def _access_change(request, verb, contact_id, grant_id, product_id=None) -> AccessChange:
    grant = get_object_or_404(
        Grant.objects.select_related("contact", "offer", "subscription"),
        site=request.site,
        contact_id=contact_id,
        pk=grant_id,
    )
    product = None
    if product_id is not None:
        product = get_object_or_404(
            Product.objects.distinct(),
            site=request.site,
            pk=product_id,
            accesses__grant=grant,
            accesses__removed_at__isnull=True,
        )
    return AccessChange(verb, grant, product)


def _popup(request, template: str, context: dict, status: int = 200):
    """The popup in a <dialog> for HTMX; otherwise the same form on a page of its own."""
    context = {**context, "form_template": template, "in_dialog": wants_partial(request)}
    page = "purchases/partials/dialog.html" if context["in_dialog"] else "purchases/popup_page.html"
    return render(request, page, {**context, "active_tab": "contacts"}, status=status)


def _access_popup(request, change: AccessChange, form, status: int = 200):
    default_back = reverse("contacts:purchases", args=[change.contact.pk])
    context = {
        "change": change,
        "contact": change.contact,
        "grant": change.grant,
        "product": change.product,
        "form": form,
        "action_url": change.url(""),
        "back_url": next_url(request, default_back),
        "billing": billing_subscriptions(change.grant) if change.verb == "revoke" else [],
    }
    return _popup(request, "purchases/partials/access_form.html", context, status)


def _changed(
    request,
    outcome: kajaccess_outcomes.Outcome,
    contact: Contact,
    next_url: str,
    level: int | None = None,
):
    """Say what happened; HTMX pages refresh their lists and close the popup."""
    if level is None:
        level = messages.SUCCESS if outcome.changed else messages.INFO
    messages.add_message(request, level, outcome.message)
    if not wants_partial(request):
        return redirect(next_url)
    response = render(request, "purchases/partials/changed.html")
    trigger_client_event(response, "accessChanged", {"contact": contact.pk})
    trigger_client_event(response, "closeDialog")
    return response


@member_required
@require_GET
def confirm_access_change(request, verb, contact_id, grant_id, product_id=None):
    change = _access_change(request, verb, contact_id, grant_id, product_id)
    return _access_popup(request, change, AccessChangeForm())


@member_required
@require_POST
def change_access(request, verb, contact_id, grant_id, product_id=None):
    change = _access_change(request, verb, contact_id, grant_id, product_id)
    form = AccessChangeForm(request.POST)
    if form.is_valid():
        try:
            outcome = change.apply(Actor.creator(request.user), form.cleaned_data["reason"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            default = reverse("contacts:purchases", args=[change.contact.pk])
            return _changed(request, outcome, change.contact, next_url(request, default))
    return _access_popup(request, change, form, status=400)


# --- Grant offer -----------------------------------------------------------------------


def _grant_popup(request, contact: Contact, form, status: int = 200):
    context = {
        "contact": contact,
        "form": form,
        "action_url": reverse("contacts:grant_offer", args=[contact.pk]),
        "back_url": next_url(request, reverse("contacts:profile", args=[contact.pk])),
    }
    return _popup(request, "purchases/partials/grant_offer_form.html", context, status)


class GrantEmail:
    """The email telling a customer about an Offer granted to them.

    It is sent once the grant is committed. Failing to send it leaves the grant as it
    is: the failure is logged and said next to the grant's message, never as an error.
    """

    def __init__(self, grant: Grant, library_url: str):
        self.grant = grant
        self.library_url = library_url
        self.failure = ""

    def send(self) -> None:
        grant = self.grant
        context = {"grant": grant, "contact": grant.contact, "library_url": self.library_url}
        # An email header is one line, whatever the title was saved with.
        subject = " ".join(f"You now have access to {grant.offer.title}".split())
        try:
            send_mail(
                subject=subject,
                message=render_to_string("purchases/email/offer_granted.txt", context),
                from_email=None,
                recipient_list=[grant.contact.email],
            )
        except (BadHeaderError, OSError) as error:  # smtplib's errors are OSErrors
            logger.warning("Email for grant %s not sent", grant.pk, exc_info=True)
            self.failure = (
                f"“{grant.contact.email}” is not an address an email can go to."
                if isinstance(error, BadHeaderError)
                else "the mail server did not accept it."
            )

    def told(self, outcome: kajaccess_outcomes.Outcome) -> tuple[kajaccess_outcomes.Outcome, int]:
        """The grant's message with what became of the email, and its level."""
        if self.failure:
            text = f"{outcome.message} The email could not be sent: {self.failure}"
            return kajaccess_outcomes.Outcome(outcome.obj, True, text), messages.WARNING
        text = f"{outcome.message} An email is on its way to them."
        return kajaccess_outcomes.Outcome(outcome.obj, True, text), messages.SUCCESS


@member_required
@require_GET
def grant_offer_form(request, contact_id: int):
    contact = get_object_or_404(Contact, site=request.site, pk=contact_id)
    return _grant_popup(request, contact, GrantOfferForm(site=request.site))


@member_required
@require_POST
def grant_offer(request, contact_id: int):
    contact = get_object_or_404(Contact, site=request.site, pk=contact_id)
    form = GrantOfferForm(request.POST, site=request.site)
    if form.is_valid():
        try:
            outcome = services.grant_offer(
                contact=contact,
                offer=form.cleaned_data["offer"],
                actor=Actor.creator(request.user),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            level = None
            if outcome.changed and form.cleaned_data["send_email"]:
                email = GrantEmail(
                    outcome.obj, request.build_absolute_uri(reverse("library:index"))
                )
                # Outside a transaction, as a request is, this sends now, so a failure
                # can still be told; inside one it sends at commit and is only logged.
                transaction.on_commit(email.send)
                outcome, level = email.told(outcome)
            default = reverse("contacts:profile", args=[contact.pk])
            return _changed(request, outcome, contact, next_url(request, default), level)
    return _grant_popup(request, contact, form, status=400)


# --- Activity tab ----------------------------------------------------------------------


@member_required
@require_GET
def activity(request):
    filters = ActivityFilter(request.GET, site=request.site)
    paginator = Paginator(filters.qs, EVENTS_PER_PAGE)
    context = {
        "filters": filters,
        "page": paginator.get_page(page_number(request.GET.get("page"))),
        "active_tab": "activity",
    }
    template = (
        "purchases/partials/activity.html" if wants_partial(request) else "purchases/activity.html"
    )
    return render(request, template, context, status=200 if filters.is_valid() else 400)
