"""Changing a contact's access from the dashboard, and the site's Activity tab.

Each change has two URLs: the popup that asks for confirmation (GET; a page of its own
without JavaScript) and the change itself (POST only). After a change the page's lists
refresh themselves on the `accessChanged` event and the popup closes.
"""

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from contacts.models import Contact
from contacts.paging import KeysetPager, SortKey, StalePage, count_up_to, page_query
from kajaccess.actors import Actor
from kajaccess.outcomes import Outcome
from kajaccess.team.permissions import can_manage_team
from kajaccess.team.selectors import team_events
from kajaccess.web import (
    FollowUp,
    member_actor,
    next_url,
    permission_required,
    render_changed,
    render_popup,
    wants_partial,
)
from products.models import Product
from purchases.access import selectors, services
from purchases.access.emails import GrantEmail
from purchases.access.states import has_ended
from purchases.billing.selectors import billing_subscriptions
from purchases.filters import ActivityFilter
from purchases.forms import AccessChangeForm, AccessDatesForm, GrantOfferForm
from purchases.models import Grant

EVENTS_PER_PAGE = 50
# A site's trail is counted up to this many changes; beyond it the tab says "more than".
EVENTS_COUNTED = 10_000
EVENT_SORTS = {"at": SortKey(("at", "pk"), kind=datetime)}
TEAM_EVENTS_PER_PAGE = 20


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

    @property
    def rest_stays_open(self) -> bool:
        """Revoking this one Product leaves others of the Offer open (the popup says so)."""
        return self.product is not None and selectors.opens_other_products(self.grant, self.product)

    def url(self, name: str) -> str:
        args = [self.grant.contact_id, self.grant.pk]
        if self.product is not None:
            return reverse(f"contacts:{self.verb}_product{name}", args=[*args, self.product.pk])
        return reverse(f"contacts:{self.verb}{name}", args=args)

    def follow_up(self, back_url: str) -> FollowUp:
        """The way back from this change: `Restore access` after a revoke, and the reverse."""
        undo = AccessChange(
            "restore" if self.verb == "revoke" else "revoke", self.grant, self.product
        )
        return FollowUp(
            label=f"{undo.verb.capitalize()} access",
            url=_with_next(undo.url("_confirm"), back_url),
            context=f"to {self.subject} for {self.contact.display_name}",
        )

    def apply(self, actor: Actor, reason: str) -> Outcome:
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
    return render_popup(
        request,
        "purchases/partials/access_form.html",
        context,
        title=f"{change.verb.capitalize()} access",
        active_tab="contacts",
        status=status,
    )


def _with_next(url: str, back_url: str) -> str:
    return f"{url}?{urlencode({'next': back_url})}"


def _changed(
    request,
    outcome: Outcome,
    contact: Contact,
    next_url: str,
    level=None,
    follow_up: FollowUp | None = None,
):
    """Say what happened; HTMX pages refresh their lists and close the popup."""
    return render_changed(
        request,
        outcome,
        next_url=next_url,
        events={"accessChanged": {"contact": contact.pk}},
        level=level,
        follow_up=follow_up,
    )


@permission_required("kajaccess.change_access")
@require_GET
def confirm_access_change(request, verb, contact_id, grant_id, product_id=None):
    change = _access_change(request, verb, contact_id, grant_id, product_id)
    return _access_popup(request, change, AccessChangeForm())


@permission_required("kajaccess.change_access")
@require_POST
def change_access(request, verb, contact_id, grant_id, product_id=None):
    change = _access_change(request, verb, contact_id, grant_id, product_id)
    form = AccessChangeForm(request.POST)
    if form.is_valid():
        try:
            outcome = change.apply(member_actor(request), form.cleaned_data["reason"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            back_url = next_url(request, reverse("contacts:purchases", args=[change.contact.pk]))
            follow_up = change.follow_up(back_url)
            return _changed(request, outcome, change.contact, back_url, follow_up=follow_up)
    return _access_popup(request, change, form, status=400)


# --- Grant offer -----------------------------------------------------------------------


def _grant_popup(request, contact: Contact, form, status: int = 200):
    context = {
        "contact": contact,
        "form": form,
        "action_url": reverse("contacts:grant_offer", args=[contact.pk]),
        "back_url": next_url(request, reverse("contacts:profile", args=[contact.pk])),
    }
    return render_popup(
        request,
        "purchases/partials/grant_offer_form.html",
        context,
        title="Grant offer",
        active_tab="contacts",
        status=status,
    )


@permission_required("kajaccess.change_access")
@require_GET
def grant_offer_form(request, contact_id: int):
    contact = get_object_or_404(Contact, site=request.site, pk=contact_id)
    return _grant_popup(request, contact, GrantOfferForm(site=request.site))


@permission_required("kajaccess.change_access")
@require_POST
def grant_offer(request, contact_id: int):
    contact = get_object_or_404(Contact, site=request.site, pk=contact_id)
    form = GrantOfferForm(request.POST, site=request.site)
    if form.is_valid():
        try:
            outcome = services.grant_offer(
                contact=contact,
                offer=form.cleaned_data["offer"],
                actor=member_actor(request),
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
            back_url = next_url(request, reverse("contacts:profile", args=[contact.pk]))
            revoke_url = reverse("contacts:revoke_confirm", args=[contact.pk, outcome.obj.pk])
            follow_up = FollowUp(
                label="Revoke",
                url=_with_next(revoke_url, back_url),
                context=f"{outcome.obj.offer.title} for {contact.display_name}",
            )
            return _changed(request, outcome, contact, back_url, level, follow_up)
    return _grant_popup(request, contact, form, status=400)


# --- Edit access dates ------------------------------------------------------------------


def _dates_grant(request, contact_id: int, grant_id: int) -> Grant:
    return get_object_or_404(
        Grant.objects.select_related("contact", "offer", "subscription"),
        site=request.site,
        contact_id=contact_id,
        pk=grant_id,
    )


def _dates_popup(request, grant: Grant, form, status: int = 200, stale: str = ""):
    contact = grant.contact
    context = {
        "stale": stale,
        "contact": contact,
        "grant": grant,
        "form": form,
        "action_url": reverse("contacts:edit_access_dates", args=[contact.pk, grant.pk]),
        "back_url": next_url(request, reverse("contacts:purchases", args=[contact.pk])),
        "billing": billing_subscriptions(grant),
    }
    return render_popup(
        request,
        "purchases/partials/access_dates_form.html",
        context,
        title="Edit access dates",
        active_tab="contacts",
        status=status,
    )


@permission_required("kajaccess.change_access")
@require_GET
def edit_access_dates_form(request, contact_id: int, grant_id: int):
    grant = _dates_grant(request, contact_id, grant_id)
    # Opened from a bookmark or a page shown before the end passed: say so before any typing.
    ended = services.AccessEnded(grant).message if has_ended(grant) else ""
    return _dates_popup(request, grant, AccessDatesForm(grant=grant), stale=ended)


@permission_required("kajaccess.change_access")
@require_POST
def edit_access_dates(request, contact_id: int, grant_id: int):
    grant = _dates_grant(request, contact_id, grant_id)
    form = AccessDatesForm(request.POST)
    if form.is_valid():
        starts_at, expires_at = form.dates()
        try:
            outcome = services.set_access_dates(
                grant=grant,
                starts_at=starts_at,
                expires_at=expires_at,
                shown=form.shown(),
                actor=member_actor(request),
                reason=form.cleaned_data["reason"],
            )
        except services.StaleAccessDates as error:
            # The popup shows the dates the grant holds now, beside the message.
            grant.refresh_from_db()
            fresh = AccessDatesForm(grant=grant)
            return _dates_popup(request, grant, fresh, status=409, stale=error.message)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            back_url = next_url(request, reverse("contacts:purchases", args=[grant.contact_id]))
            return _changed(request, outcome, grant.contact, back_url)
    return _dates_popup(request, grant, form, status=400)


# --- Activity tab ----------------------------------------------------------------------


def _team_page(request):
    """A page of the team's changes, for those who manage the team: they name its members."""
    if not can_manage_team(request):
        return None
    paginator = Paginator(team_events(request.site), TEAM_EVENTS_PER_PAGE)
    return paginator.get_page(request.GET.get("team_page"))


def _events_page(request, events):
    """The page of the trail asked for, by keyset (contacts/paging.py): the oldest changes
    of a site with millions cost what the newest do. A forged or stale page link shows
    the newest changes and says why (a 400, as on the Contacts tab)."""
    pager = KeysetPager(
        events,
        sort="-at",
        per_page=EVENTS_PER_PAGE,
        count=count_up_to(events, EVENTS_COUNTED),
        sorts=EVENT_SORTS,
        salt="purchases.activity.page",
    )
    refused = ""
    try:
        page = pager.page(request.GET.get("page"))
    except StalePage as error:
        refused = error.messages[0]
        page = pager.first()
    page.links = {name: page_query(request.GET, value) for name, value in page.links.items()}
    return page, refused


@permission_required("kajaccess.view_contacts")
@require_GET
def activity(request):
    if wants_partial(request) and request.htmx.target == "team-activity":
        team_page = _team_page(request)
        if team_page is not None:
            return render(request, "team/partials/events.html", {"team_page": team_page})
    filters = ActivityFilter(request.GET, site=request.site)
    page, page_refused = _events_page(request, filters.qs)
    context = {
        "filters": filters,
        "page": page,
        "page_refused": page_refused,
        "counted_to": EVENTS_COUNTED,
        "active_tab": "activity",
    }
    status = 200 if filters.is_valid() and not page_refused else 400
    if wants_partial(request):
        return render(request, "purchases/partials/activity.html", context, status=status)
    context["team_page"] = _team_page(request)
    return render(request, "purchases/activity.html", context, status=status)
