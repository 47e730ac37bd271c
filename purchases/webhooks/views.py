"""Settings > Webhooks, for the owner and administrators of a site.

An endpoint's signing secret is shown once, on the page that answers its creation, as
an API key is. Each endpoint has a page with its delivery log, where any delivery can be
sent again (`Resend`) and an endpoint switched off after a day of failures turned on.
"""

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from kajaccess.web import member_actor, permission_required, render_changed, render_popup
from purchases.models import WebhookDelivery, WebhookEndpoint
from purchases.webhooks import selectors, services
from purchases.webhooks.events import EVENT_TYPES
from purchases.webhooks.forms import WebhookEndpointForm

ACTIVE_TAB = "webhooks"
PERMISSION = "kajaccess.manage_webhooks"


def _of_this_site(request, endpoint_id: int | None = None, delivery_id: int | None = None):
    # Another site's endpoint stays a 404 for a role that is refused, as everywhere.
    if endpoint_id is not None:
        endpoint = get_object_or_404(WebhookEndpoint, site=request.site, pk=endpoint_id)
        if delivery_id is not None:
            get_object_or_404(WebhookDelivery, endpoint=endpoint, pk=delivery_id)


webhook_managers_only = permission_required(PERMISSION, lookup=_of_this_site)


def _endpoint(request, endpoint_id: int) -> WebhookEndpoint:
    return get_object_or_404(WebhookEndpoint, site=request.site, pk=endpoint_id)


def _page(request, form, *, new_endpoint=None, status: int = 200):
    context = {
        "endpoints": selectors.site_webhook_endpoints(request.site),
        "form": form,
        "new_endpoint": new_endpoint,
        "event_type_count": len(EVENT_TYPES),
        "active_tab": ACTIVE_TAB,
    }
    return render(request, "webhooks/list.html", context, status=status)


@webhook_managers_only
@require_http_methods(["GET", "POST"])
def endpoints(request):
    if request.method == "GET":
        return _page(request, WebhookEndpointForm())
    form = WebhookEndpointForm(request.POST)
    if form.is_valid():
        try:
            new_endpoint = services.webhook_endpoint_create(
                site=request.site,
                url=form.cleaned_data["url"],
                event_types=form.cleaned_data["event_types"],
                actor=member_actor(request),
            )
        except ValidationError as error:
            form.add_error("url", error)
        else:
            return _page(request, WebhookEndpointForm(), new_endpoint=new_endpoint)
    return _page(request, form, status=400)


@webhook_managers_only
@require_http_methods(["GET"])
def detail(request, endpoint_id: int):
    endpoint = _endpoint(request, endpoint_id)
    context = {
        "endpoint": endpoint,
        "log": selectors.delivery_log(endpoint),
        "log_length": selectors.LOG_LENGTH,
        "waiting": selectors.waiting_deliveries(endpoint),
        "active_tab": ACTIVE_TAB,
    }
    return render(request, "webhooks/detail.html", context)


@webhook_managers_only
@require_http_methods(["GET", "POST"])
def delete(request, endpoint_id: int):
    endpoint = _endpoint(request, endpoint_id)
    if request.method == "GET":
        context = {
            "endpoint": endpoint,
            "errors": [],
            "action_url": reverse("webhooks:delete", args=[endpoint.pk]),
            "back_url": reverse("webhooks:detail", args=[endpoint.pk]),
        }
        return render_popup(
            request,
            "webhooks/partials/delete_form.html",
            context,
            title="Remove webhook endpoint",
            active_tab=ACTIVE_TAB,
        )
    outcome = services.webhook_endpoint_delete(endpoint=endpoint, actor=member_actor(request))
    return render_changed(request, outcome, next_url=reverse("webhooks:list"))


@webhook_managers_only
@require_POST
def enable(request, endpoint_id: int):
    endpoint = _endpoint(request, endpoint_id)
    outcome = services.webhook_endpoint_enable(endpoint=endpoint, actor=member_actor(request))
    return render_changed(request, outcome, next_url=reverse("webhooks:detail", args=[endpoint.pk]))


@webhook_managers_only
@require_POST
def resend(request, endpoint_id: int, delivery_id: int):
    endpoint = _endpoint(request, endpoint_id)
    delivery = get_object_or_404(WebhookDelivery, endpoint=endpoint, pk=delivery_id)
    outcome = services.webhook_delivery_resend(delivery=delivery, actor=member_actor(request))
    return render_changed(request, outcome, next_url=reverse("webhooks:detail", args=[endpoint.pk]))
