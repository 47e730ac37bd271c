"""What every dashboard view shares: only members of a site get in, and only to their site."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.utils.http import url_has_allowed_host_and_scheme


def member_required(view):
    """Signed-in members of a site only; everyone else gets a 404 (customers, support).

    The view reads `request.site`, and every query it makes starts from it.
    """

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.site is None:
            raise Http404("This page is for the team of a site.")
        return view(request, *args, **kwargs)

    return wrapper


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
