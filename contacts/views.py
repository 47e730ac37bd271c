"""The Contacts tab: the table, the contact panel (preview, View More, More Info) and the profile.

The panel's screens answer HTMX with the panel's content and anything else with a page
of their own, so each works without JavaScript and from a bookmark.
"""

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET
from django_tables2 import RequestConfig

from contacts.filters import ContactFilter
from contacts.models import Contact
from contacts.table import ContactTable, clamp_per_page
from kajaccess.web import NotFound, member_permissions, permission_required, wants_partial
from products.models import Product
from purchases.access import selectors
from purchases.access.selectors import contact_products
from purchases.billing import selectors as billing_selectors
from purchases.reports import selectors as reports_selectors
from purchases.reports.selectors import contacts_products_count

EVENTS_PER_PAGE = 50


def _contact(request, contact_id: int) -> Contact:
    return get_object_or_404(
        Contact.objects.prefetch_related("tags"), site=request.site, pk=contact_id
    )


def _panel(request, template: str, context: dict):
    """The panel's content for HTMX; otherwise the same content as a page of its own."""
    if wants_partial(request):
        return render(request, template, context)
    return render(
        request,
        "contacts/panel_page.html",
        {**context, "panel_template": template, "active_tab": "contacts"},
    )


@permission_required("kajaccess.view_contacts")
@require_GET
def contact_list(request):
    can = member_permissions(request)["can"]
    data = request.GET
    if not can["view_billing"] and "billing" in data:
        # A role that does not see billing cannot filter by it either.
        data = data.copy()
        del data["billing"]
    filters = ContactFilter(
        data, queryset=reports_selectors.contacts_table(request.site), site=request.site
    )
    # The checkboxes serve the bulk actions and Export CSV: none without either.
    selects = can["run_bulk_actions"] or can["export_contacts"]
    table = ContactTable(filters.qs, exclude=() if selects else ("select",))
    RequestConfig(request, paginate=False).configure(table)
    table.paginate(per_page=clamp_per_page(request.GET.get("per_page")))
    table.page = table.paginator.get_page(request.GET.get("page"))
    template = "contacts/partials/table.html" if wants_partial(request) else "contacts/list.html"
    return render(
        request,
        template,
        {"filters": filters, "table": table, "active_tab": "contacts"},
        status=200 if filters.is_valid() else 400,
    )


@permission_required("kajaccess.view_contacts")
@require_GET
def preview(request, contact_id: int):
    contact = _contact(request, contact_id)
    context = {
        "contact": contact,
        "total_products": contacts_products_count([contact.pk])[contact.pk],
        "subscriptions": billing_selectors.contact_subscriptions(contact),
    }
    return _panel(request, "contacts/partials/preview.html", context)


@permission_required("kajaccess.view_contacts")
@require_GET
def products(request, contact_id: int):
    """View More: every Product the contact holds or held."""
    contact = _contact(request, contact_id)
    return _panel(
        request,
        "contacts/partials/products.html",
        {"contact": contact, "products": contact_products(contact)},
    )


@permission_required("kajaccess.view_contacts")
@require_GET
def more_info(request, contact_id: int, product_id: int):
    contact = _contact(request, contact_id)
    product = get_object_or_404(Product, site=request.site, pk=product_id)
    info = selectors.more_info(contact, product)
    if not info.grants:
        raise NotFound(f"{contact.display_name} has never held “{product.title}”.")
    return _panel(request, "contacts/partials/more_info.html", {"contact": contact, "info": info})


@permission_required("kajaccess.view_contacts")
@require_GET
def profile(request, contact_id: int):
    """The full profile, on its Products tab."""
    contact = _contact(request, contact_id)
    context = {
        "contact": contact,
        "products": contact_products(contact),
        "profile_tab": "products",
        "active_tab": "contacts",
    }
    if wants_partial(request):
        return render(request, "contacts/partials/profile_products.html", context)
    return render(request, "contacts/profile_products.html", context)


@permission_required("kajaccess.view_contacts")
@require_GET
def purchases(request, contact_id: int):
    contact = _contact(request, contact_id)
    context = {
        "contact": contact,
        "entries": selectors.contact_purchases(contact),
        "profile_tab": "purchases",
        "active_tab": "contacts",
    }
    if wants_partial(request):
        return render(request, "contacts/partials/purchases.html", context)
    return render(request, "contacts/profile_purchases.html", context)


@permission_required("kajaccess.view_contacts")
@require_GET
def activity(request, contact_id: int):
    contact = _contact(request, contact_id)
    paginator = Paginator(selectors.contact_activity(contact), EVENTS_PER_PAGE)
    return render(
        request,
        "contacts/profile_activity.html",
        {
            "contact": contact,
            "page": paginator.get_page(request.GET.get("page")),
            "profile_tab": "activity",
            "active_tab": "contacts",
        },
    )
