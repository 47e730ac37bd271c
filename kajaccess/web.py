"""What every dashboard view shares: only members of a site get in, and only to their site."""

from dataclasses import dataclass
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django_htmx.http import reselect, reswap, retarget, trigger_client_event

from kajaccess import roles
from kajaccess.actors import Actor
from kajaccess.outcomes import Outcome


class NotFound(Http404):
    """A 404 whose message is the product's own, shown as it is on the page that says so.

    Every other 404 (an unknown address, `get_object_or_404`) speaks in Django's words,
    so its page says only that nothing was found.
    """


def member_required(view):
    """Signed-in members of a site only; everyone else gets a 404 (customers, support).

    The view reads `request.site`, and every query it makes starts from it.
    """

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.site is None:
            raise NotFound("This page is for the team of a site.")
        return view(request, *args, **kwargs)

    return wrapper


def check_permission(request, permission: str) -> None:
    """A 403 in the product's words unless the member's role holds `permission`."""
    if not request.user.has_perm(permission, request.membership):
        raise PermissionDenied(roles.refusal(request.membership, permission))


def permission_required(*permissions: str, lookup=None):
    """Members whose role holds every one of `permissions` (kajaccess.roles); others get a 403.

    Tenancy comes before the role: for a member who is refused, `lookup(request, **kwargs)`
    first looks the URL's object up in `request.site`, so another site's object stays a
    404 and a 403 never confirms that it exists. A member who may go ahead skips it; the
    view looks its object up anyway.
    """

    def decorator(view):
        @member_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            refused = [p for p in permissions if not request.user.has_perm(p, request.membership)]
            if refused:
                if lookup is not None:
                    lookup(request, *args, **kwargs)
                check_permission(request, refused[0])
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def member_actor(request) -> Actor:
    """The signed-in member, with the role they hold now, as the actor of a change."""
    return Actor.creator(request.user, role=request.membership.role)


def member_permissions(request) -> dict:
    """`can` in every template: what the signed-in member's role lets them do.

    One set of answers per request, however many templates and partials ask.
    """
    if not hasattr(request, "member_permissions"):
        request.member_permissions = roles.MemberPermissions(
            getattr(request, "user", None), getattr(request, "membership", None)
        )
    return {"can": request.member_permissions}


def wants_partial(request) -> bool:
    """An HTMX request for the part of a page that changed.

    A history restore asks for the whole page, as a bookmark or a reload would.
    """
    return bool(request.htmx) and not request.htmx.history_restore_request


def next_url(request, default: str) -> str:
    """Where to send the browser back to: the `next` it was given, if it is a path here."""
    url = request.POST.get("next") or request.GET.get("next") or ""
    if (
        url.startswith("/")
        and not url.startswith("//")
        and url_has_allowed_host_and_scheme(
            url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return url
    return default


def render_popup(
    request,
    template: str,
    context: dict,
    *,
    title: str,
    active_tab: str,
    status: int = 200,
    variant: str = "",
) -> HttpResponse:
    """A confirmation popup: in a <dialog> for HTMX, else the same content on a page of its own.

    `template` is the popup's content (a form whose title has the id `dialog-title`). A
    popup that comes back with errors replaces the one that was sent, in its slot, whatever
    its form targeted, so the errors show inside it with what the creator typed; a request
    for a part of the popup (an element whose id starts with `dialog-`) gets that part.
    `variant` names a wider kind of popup, such as "bulk".
    """
    in_dialog = wants_partial(request)
    context = {
        **context,
        "content_template": template,
        "in_dialog": in_dialog,
        "popup_title": title,
        "variant": variant,
        "active_tab": active_tab,
    }
    page = "partials/dialog.html" if in_dialog else "partials/dialog_page.html"
    response = render(request, page, context, status=status)
    target = (request.htmx.target or "") if in_dialog else ""
    asked_for_part = target.startswith("dialog-") and target != "dialog-slot"
    if in_dialog and status >= 400 and not asked_for_part:
        response = reselect(reswap(retarget(response, "#dialog-slot"), "innerHTML"), "dialog")
    return response


@dataclass(frozen=True)
class FollowUp:
    """What a creator may want to do next about a change, e.g. `Restore access` after a revoke.

    `url` is a confirmation popup's (a page of its own without JavaScript): a follow-up
    never changes anything by itself. `context` ends its accessible name.
    """

    label: str
    url: str
    context: str = ""


def change_message(outcome: Outcome, follow_up: FollowUp | None = None) -> str:
    """The words of an outcome, with the link of its follow-up when something changed.

    The message is stored between requests (the no-JS path redirects first) and a
    SafeString keeps its mark through the session and cookie message storages, so the
    link is rendered here, with the words escaped, and the message template prints it as
    it is.
    """
    if follow_up is None or not outcome.changed:
        return outcome.message
    context = {"message": outcome.message, "follow_up": follow_up}
    # Stripping a SafeString gives a plain str: what was rendered is marked safe again.
    return mark_safe(render_to_string("partials/message_follow_up.html", context).strip())


def render_changed(
    request,
    outcome: Outcome,
    *,
    next_url: str,
    template: str = "",
    context: dict | None = None,
    events: dict | None = None,
    level: int | None = None,
    follow_up: FollowUp | None = None,
) -> HttpResponse:
    """After a change: say what happened, then the whole page again or, for HTMX, what changed.

    Without JavaScript the browser goes on to `next_url`. For HTMX, `template` draws what
    changed (swapped out of band where it is shown), the open popup closes and `events`
    are sent to the page, e.g. `accessChanged` so that its lists refresh themselves; the
    new message takes the focus, so that a keyboard user hears it and can act on it. The
    message is a success, or information when nothing changed, unless `level` says; it
    offers `follow_up` when something changed.
    """
    if level is None:
        level = messages.SUCCESS if outcome.changed else messages.INFO
    messages.add_message(request, level, change_message(outcome, follow_up))
    if not wants_partial(request):
        return redirect(next_url)
    context = {**(context or {}), "changed_template": template}
    response = render(request, "partials/changed.html", context)
    for name, detail in (events or {}).items():
        trigger_client_event(response, name, detail)
    trigger_client_event(response, "closeDialog")
    return response


def way_back(request) -> dict:
    """Where an error page leads: a member's Contacts tab, a customer's Library, or sign-in."""
    if getattr(request, "site", None) is not None:
        return {"back_url": reverse("contacts:list"), "back_label": "Back to Contacts"}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        if user.is_staff:
            return {"back_url": reverse("admin:index"), "back_label": "Back to the support admin"}
        return {"back_url": reverse("library:index"), "back_label": "Back to your Library"}
    return {"back_url": reverse("login"), "back_label": "Sign in"}


def too_many_requests(request, template: str = "429.html", *, wait, context=None):
    """A 429 in the product's words: when to try again, in words and as Retry-After."""
    seconds = int(wait.total_seconds())
    context = {
        **way_back(request),
        **(context or {}),
        "wait_minutes": max(1, round(seconds / 60)),
        "retry_at": timezone.now() + wait,
    }
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(seconds)
    return response
