"""Cancel, pause and resume a subscription or payment plan from the dashboard.

`Cancel Payments` and `Pause Payments` open a popup (GET; a page of its own without
JavaScript) whose form posts the change. `Stop cancellation` and `Resume Payments` post
straight from the subscription. After a change the subscription is drawn again where it
is shown, with a message, and pages that list the contact's access refresh themselves on
the `accessChanged` event.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import reswap

from kajaccess.outcomes import Outcome
from kajaccess.web import (
    member_actor,
    next_url,
    permission_required,
    render_changed,
    render_popup,
    wants_partial,
)
from purchases.billing import services as billing
from purchases.billing.forms import CancelPaymentsForm, PausePaymentsForm
from purchases.models import Subscription


def _subscription(request, subscription_id: int) -> Subscription:
    return get_object_or_404(
        Subscription.objects.select_related("grant__contact", "grant__offer"),
        grant__site=request.site,
        pk=subscription_id,
    )


def _back_url(request, subscription: Subscription) -> str:
    return next_url(request, reverse("billing:subscription", args=[subscription.pk]))


def _page_url(request) -> str:
    """The page the browser shows: where the subscription's buttons send people back to."""
    if request.htmx and request.htmx.current_url_abs_path:
        return request.htmx.current_url_abs_path
    return request.get_full_path()


def _context(request, subscription: Subscription, **extra) -> dict:
    return {
        "subscription": subscription,
        "contact": subscription.grant.contact,
        "offer": subscription.grant.offer,
        "active_tab": "contacts",
        **extra,
    }


def _popup(request, subscription, form, *, kind: str, status: int = 200):
    context = _context(
        request,
        subscription,
        form=form,
        action_url=reverse(f"billing:{kind}", args=[subscription.pk]),
        back_url=_back_url(request, subscription),
    )
    return render_popup(
        request,
        f"purchases/billing/{kind}_form.html",
        context,
        title=f"{kind.capitalize()} payments for {subscription.grant.offer.title}",
        active_tab="contacts",
        status=status,
    )


def _changed(request, subscription: Subscription, outcome: Outcome):
    """Say what happened and draw the subscription again where it is shown.

    From a popup (whose form targets #dialog-slot) the popup goes away and the
    subscription is swapped out of band, so it works on any page, even one that does not
    show the subscription; from the subscription's own buttons it is swapped in place.
    """
    from_dialog = wants_partial(request) and request.htmx.target == "dialog-slot"
    context = _context(request, subscription, oob=from_dialog, next_url=_page_url(request))
    events = {}
    if outcome.changed:
        events["accessChanged"] = {"contact": subscription.grant.contact_id}
    return render_changed(
        request,
        outcome,
        next_url=_back_url(request, subscription),
        template="purchases/partials/subscription.html",
        context=context,
        events=events,
    )


def _refused(request, subscription: Subscription, error: ValidationError):
    """A change the subscription's own buttons asked for and the service refused."""
    messages.error(request, " ".join(error.messages))
    if not wants_partial(request):
        context = _context(request, subscription)
        return render(request, "purchases/billing/subscription_page.html", context, status=400)
    context = _context(
        request,
        subscription,
        next_url=_page_url(request),
        changed_template="purchases/partials/subscription.html",
    )
    response = render(request, "partials/changed.html", context, status=400)
    return reswap(response, "outerHTML")


@permission_required("kajaccess.view_billing", lookup=_subscription)
@require_http_methods(["GET"])
def subscription_page(request, subscription_id: int):
    subscription = _subscription(request, subscription_id)
    return render(
        request, "purchases/billing/subscription_page.html", _context(request, subscription)
    )


@permission_required("kajaccess.cancel_payments", lookup=_subscription)
@require_http_methods(["GET", "POST"])
def cancel_payments(request, subscription_id: int):
    subscription = _subscription(request, subscription_id)
    if request.method == "GET":
        form = CancelPaymentsForm(subscription=subscription)
        return _popup(request, subscription, form, kind="cancel")
    form = CancelPaymentsForm(request.POST, subscription=subscription)
    if form.is_valid():
        try:
            outcome = billing.cancel_subscription(
                subscription=subscription,
                actor=member_actor(request),
                when=form.cleaned_data["when"],
                on=form.cleaned_data["on"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return _changed(request, outcome.obj, outcome)
    return _popup(request, subscription, form, kind="cancel", status=400)


@permission_required("kajaccess.pause_payments", lookup=_subscription)
@require_http_methods(["GET", "POST"])
def pause_payments(request, subscription_id: int):
    subscription = _subscription(request, subscription_id)
    if request.method == "GET":
        return _popup(request, subscription, PausePaymentsForm(), kind="pause")
    form = PausePaymentsForm(request.POST)
    if form.is_valid():
        try:
            outcome = billing.pause_subscription(
                subscription=subscription,
                actor=member_actor(request),
                until=form.cleaned_data["until"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return _changed(request, outcome.obj, outcome)
    return _popup(request, subscription, form, kind="pause", status=400)


def _post_change(request, subscription_id: int, service):
    subscription = _subscription(request, subscription_id)
    try:
        outcome = service(subscription=subscription, actor=member_actor(request))
    except ValidationError as error:
        return _refused(request, subscription, error)
    return _changed(request, outcome.obj, outcome)


@permission_required("kajaccess.pause_payments", lookup=_subscription)
@require_POST
def resume_payments(request, subscription_id: int):
    return _post_change(request, subscription_id, billing.resume_subscription)


@permission_required("kajaccess.cancel_payments", lookup=_subscription)
@require_POST
def stop_cancellation(request, subscription_id: int):
    return _post_change(request, subscription_id, billing.stop_cancellation)
