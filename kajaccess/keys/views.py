"""Settings > API keys, for the owner and administrators of a site.

A new key is shown once, on the page that answers its creation (or its rotation), and
never again: only its hash is kept. Revoking and rotating ask for confirmation in a
popup (a page of its own without JavaScript); the keys' table then refreshes itself on
the `apiKeysChanged` event.
"""

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django_htmx.http import trigger_client_event

from kajaccess.keys import selectors, services
from kajaccess.keys.forms import ApiKeyForm
from kajaccess.models import ApiKey
from kajaccess.web import (
    member_actor,
    permission_required,
    render_changed,
    render_popup,
    wants_partial,
)

ACTIVE_TAB = "api_keys"
PERMISSION = "kajaccess.manage_api_keys"


def _key_of_this_site(request, prefix: str | None = None, **kwargs) -> None:
    # Another site's key stays a 404 for a role that is refused, as everywhere.
    if prefix is not None:
        get_object_or_404(ApiKey, site=request.site, prefix=prefix)


key_managers_only = permission_required(PERMISSION, lookup=_key_of_this_site)


def _page(request, form, *, new_key=None, status: int = 200):
    context = {
        "keys": selectors.site_api_keys(request.site),
        "form": form,
        "new_key": new_key,
        "active_tab": ACTIVE_TAB,
    }
    return render(request, "api_keys/list.html", context, status=status)


@key_managers_only
@require_http_methods(["GET", "POST"])
def api_keys(request):
    if request.method == "GET":
        if wants_partial(request):
            context = {"keys": selectors.site_api_keys(request.site)}
            return render(request, "api_keys/partials/keys.html", context)
        return _page(request, ApiKeyForm())
    form = ApiKeyForm(request.POST)
    if form.is_valid():
        try:
            new_key = services.api_key_create(
                site=request.site,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                expires_at=form.expires_at(),
                actor=member_actor(request),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return _page(request, ApiKeyForm(), new_key=new_key)
    return _page(request, form, status=400)


def _key(request, prefix: str) -> ApiKey:
    return get_object_or_404(
        ApiKey.objects.select_related("created_by"), site=request.site, prefix=prefix
    )


POPUPS = {
    "revoke": ("api_keys/partials/revoke_form.html", "Revoke API key"),
    "rotate": ("api_keys/partials/rotate_form.html", "Rotate API key"),
}


def _popup(request, verb: str, key: ApiKey, *, errors=(), status: int = 200, **context):
    template, title = POPUPS[verb]
    context = {
        **context,
        "key": key,
        "errors": list(errors),
        "action_url": reverse(f"api_keys:{verb}", args=[key.prefix]),
        "back_url": reverse("api_keys:list"),
    }
    return render_popup(
        request, template, context, title=title, active_tab=ACTIVE_TAB, status=status
    )


@key_managers_only
@require_http_methods(["GET", "POST"])
def revoke(request, prefix: str):
    key = _key(request, prefix)
    if request.method == "GET":
        return _popup(request, "revoke", key)
    outcome = services.api_key_revoke(key=key, actor=member_actor(request))
    return render_changed(
        request, outcome, next_url=reverse("api_keys:list"), events={"apiKeysChanged": {}}
    )


@key_managers_only
@require_http_methods(["GET", "POST"])
def rotate(request, prefix: str):
    key = _key(request, prefix)
    if request.method == "GET":
        return _popup(request, "rotate", key)
    try:
        new_key = services.api_key_rotate(key=key, actor=member_actor(request))
    except ValidationError as error:
        return _popup(request, "rotate", key, errors=error.messages, status=400)
    response = _popup(request, "rotate", key, new_key=new_key)
    trigger_client_event(response, "apiKeysChanged")
    return response
