"""The Offers tab: create, edit, delete and restore offers."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kajaccess.web import member_actor, permission_required, render_changed, render_popup
from products.forms import OfferForm, OfferProductsForm
from products.models import Offer, Product
from purchases.offers import selectors, services
from purchases.reports import selectors as reports_selectors


def _offer(request, offer_id: int) -> Offer:
    return get_object_or_404(Offer, site=request.site, pk=offer_id)


def _sets_prices(request) -> bool:
    """The offer form has a price and payment type only for a role that sets prices."""
    return request.user.has_perm("kajaccess.price_offers", request.membership)


def _offers_context(site) -> dict:
    offers = Offer.objects.filter(site=site).prefetch_related(
        Prefetch("products", queryset=Product.objects.order_by("title", "pk"))
    )
    counts = reports_selectors.offer_customer_counts(site)
    rows = [{"offer": offer, "customers": counts.get(offer.pk, 0)} for offer in offers]
    return {
        "live": [row for row in rows if not row["offer"].is_deleted],
        "deleted": sorted(
            (row for row in rows if row["offer"].is_deleted),
            key=lambda row: row["offer"].deleted_at,
            reverse=True,
        ),
        "active_tab": "offers",
    }


@permission_required("kajaccess.edit_offers")
@require_GET
def offer_list(request):
    return render(request, "products/offers.html", _offers_context(request.site))


def _changes(offer: Offer, added: list[Product], removed: list[Product]) -> list[dict]:
    """What saving would do to existing customers, one line per Product added or removed."""
    if not offer.pk or not (added or removed):
        return []
    counts = selectors.offer_change_counts(offer, [p.pk for p in added], [p.pk for p in removed])
    return [{"product": p, "gain": True, "customers": counts["gain"]} for p in added] + [
        {"product": p, "gain": False, "customers": counts["lose"][p.pk]} for p in removed
    ]


def _offer_form_page(request, form, offer=None, changes=None, status=200):
    return render(
        request,
        "products/offer_form.html",
        {"form": form, "offer": offer, "changes": changes or [], "active_tab": "offers"},
        status=status,
    )


def _save_offer(request, form, offer=None):
    actor = member_actor(request)
    try:
        if offer is None:
            outcome = services.create_offer(
                site=request.site, actor=actor, **form.service_arguments()
            )
        else:
            outcome = services.update_offer(offer=offer, actor=actor, **form.service_arguments())
    except ValidationError as error:
        form.add_error(None, error)
        return _offer_form_page(request, form, offer, status=400)
    messages.success(request, outcome.message)
    return redirect("products:offers")


@permission_required("kajaccess.edit_offers")
@require_http_methods(["GET", "POST"])
def offer_create(request):
    form = OfferForm(request.POST or None, site=request.site, with_price=_sets_prices(request))
    if request.method == "POST":
        if not form.is_valid():
            return _offer_form_page(request, form, status=400)
        return _save_offer(request, form)
    return _offer_form_page(request, form)


@permission_required("kajaccess.edit_offers", lookup=_offer)
@require_http_methods(["GET", "POST"])
def offer_edit(request, offer_id: int):
    offer = get_object_or_404(Offer.objects.live(), site=request.site, pk=offer_id)
    form = OfferForm(
        request.POST or None, instance=offer, site=request.site, with_price=_sets_prices(request)
    )
    if request.method == "GET":
        return _offer_form_page(request, form, offer)
    if not form.is_valid():
        return _offer_form_page(request, form, offer, status=400)
    changes = _changes(offer, *form.product_changes())
    reaches_customers = any(change["customers"] for change in changes)
    if reaches_customers and not form.is_confirmed():
        # The preview step: say who gains or loses what, and save only once confirmed.
        form.data = form.data.copy()
        form.data["confirmed_products"] = form.product_choice_key()
        return _offer_form_page(request, form, offer, changes)
    return _save_offer(request, form, offer)


@permission_required("kajaccess.edit_offers", lookup=_offer)
@require_GET
def offer_impact(request, offer_id: int):
    """The hint under the Products of the offer form: who a change would reach."""
    offer = get_object_or_404(Offer.objects.live(), site=request.site, pk=offer_id)
    picked = OfferProductsForm(request.GET, site=request.site)
    if not picked.is_valid():
        return HttpResponse(
            "Pick products of this site.", status=400, content_type="text/plain; charset=utf-8"
        )
    chosen = {product.pk for product in picked.cleaned_data["products"]}
    saved = set(offer.products.values_list("pk", flat=True))
    products = {p.pk: p for p in Product.objects.filter(site=request.site, pk__in=chosen ^ saved)}
    added = [products[pk] for pk in sorted(chosen - saved)]
    removed = [products[pk] for pk in sorted(saved - chosen)]
    return render(
        request,
        "products/partials/offer_changes.html",
        {"offer": offer, "changes": _changes(offer, added, removed)},
    )


@permission_required("kajaccess.delete_offers", lookup=_offer)
@require_http_methods(["GET", "POST"])
def offer_delete(request, offer_id: int):
    offer = _offer(request, offer_id)
    if request.method == "GET":
        context = {
            "offer": offer,
            "customers": reports_selectors.offer_customer_counts(request.site).get(offer.pk, 0),
        }
        return render_popup(
            request,
            "products/partials/delete_offer_form.html",
            context,
            title=f"Delete {offer.title}",
            active_tab="offers",
        )
    outcome = services.delete_offer(offer=offer, actor=member_actor(request))
    return _offers_changed(request, outcome)


@permission_required("kajaccess.delete_offers", lookup=_offer)
@require_POST
def offer_restore(request, offer_id: int):
    offer = _offer(request, offer_id)
    outcome = services.restore_offer(offer=offer, actor=member_actor(request))
    return _offers_changed(request, outcome)


def _offers_changed(request, outcome):
    return render_changed(
        request,
        outcome,
        next_url=reverse("products:offers"),
        template="products/partials/offers.html",
        context=_offers_context(request.site),
    )
