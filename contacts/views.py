"""The Contacts tab: the table, the contact panel (preview, View More, More Info) and the profile.

Each step of the panel has its own address, carrying the table's search. The panel's
screens answer HTMX with the panel's content; anything else (a reload, a shared link, a
history restore, a browser without JavaScript) gets the whole Contacts tab, its table
searched, sorted and paged by that address's query string, with the panel open beside it.
"""

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import QueryDict
from django.shortcuts import get_object_or_404, render
from django.urls import Resolver404, resolve, reverse
from django.views.decorators.http import require_GET
from django_tables2 import RequestConfig

from contacts.bulk.forms import search_within
from contacts.bulk.pasted import PastedBanner, pasted_selection_for
from contacts.bulk.selection import selected_contacts
from contacts.filters import ContactFilter
from contacts.models import Contact
from contacts.paging import KeysetPager, StalePage, page_query, sort_of
from contacts.selectors import contacts_count
from contacts.table import PER_PAGE_DEFAULT, ContactTable, clamp_per_page
from kajaccess.web import NotFound, member_permissions, permission_required, wants_partial
from products.models import Product
from purchases.access import selectors
from purchases.access.selectors import contact_products
from purchases.billing import selectors as billing_selectors
from purchases.reports import selectors as reports_selectors
from purchases.reports.selectors import contacts_products_count

EVENTS_PER_PAGE = 50
# The URL names of the panel's steps, and of the pages that show the Contacts tab.
PANEL_STEPS = frozenset({"preview", "products", "more_info"})
CONTACTS_TAB = PANEL_STEPS | {"list"}
# The table refreshing itself after a change of access: the address stays as it is.
TABLE_REFRESH = "contacts-table"
SEARCH_DEFAULTS = {("per_page", str(PER_PAGE_DEFAULT))}


def _contact(request, contact_id: int) -> Contact:
    return get_object_or_404(
        Contact.objects.prefetch_related("tags"), site=request.site, pk=contact_id
    )


def search_of(query: QueryDict) -> str:
    """The table's search as a query string to append to a URL ("?q=ada").

    Without the empty fields and the default page size the filter form sends, so that an
    address says only what the creator chose.
    """
    kept = QueryDict(mutable=True)
    for name, values in query.lists():
        values = [value for value in values if value and (name, value) not in SEARCH_DEFAULTS]
        if values:
            kept.setlist(name, values)
    return f"?{kept.urlencode()}" if kept else ""


def _shown_step(request):
    """The Contacts tab's page the browser shows now (an HTMX request's current URL), or None."""
    path = request.htmx.current_url_abs_path if request.htmx else None
    if not path:
        return None
    try:
        match = resolve(urlsplit(path).path)
    except Resolver404:
        return None
    if match.namespace != "contacts" or match.url_name not in CONTACTS_TAB:
        return None
    return match


def _contacts_tab(request, open_contact: int | None = None) -> tuple[dict, int]:
    """The table and its filters for the request's query string, and the status to answer with."""
    can = member_permissions(request)["can"]
    data = request.GET
    if not can["view_billing"] and "billing" in data:
        # A role that does not see billing cannot filter by it either.
        data = data.copy()
        del data["billing"]
    queryset = reports_selectors.contacts_table(request.site)
    pasted, pasted_refused = _pasted(request) if can["run_bulk_actions"] else (None, "")
    if pasted is not None:
        # The table lists the pasted selection, which the bulk actions then act on.
        selection = selected_contacts(request.site, {"pasted": pasted.pk}, user=request.user)
        queryset = queryset.filter(pk__in=selection.values("pk"))
    filters = ContactFilter(data, queryset=queryset, site=request.site)
    # The checkboxes serve the bulk actions and Export CSV: none without either, and
    # none over a pasted selection, which is the selection already.
    selects = (can["run_bulk_actions"] or can["export_contacts"]) and pasted is None
    search = search_of(request.GET)
    table = ContactTable(
        filters.qs,
        exclude=() if selects else ("select",),
        search=search,
        open_contact=open_contact,
    )
    # The sort is the table's (its headers say which); the page is found by keyset.
    RequestConfig(request, paginate=False).configure(table)
    sort = sort_of(table.order_by)
    if table.order_by:
        table.order_by = sort
    narrowed = pasted is not None or filters.narrows
    pager = KeysetPager(
        filters.qs,
        sort=sort,
        per_page=clamp_per_page(request.GET.get("per_page")),
        count=_count(filters, narrowed) if pasted is None else filters.qs.count(),
    )
    page_refused = ""
    try:
        table.page = pager.page(request.GET.get("page"))
    except StalePage as error:
        page_refused = error.messages[0]
        table.page = pager.first()
    table.page.links = {
        name: page_query(request.GET, value) for name, value in table.page.links.items()
    }
    context = {"filters": filters, "table": table, "search": search, "active_tab": "contacts"}
    searched = pasted is not None and search_within(request.GET)
    banner = pasted and PastedBanner(pasted, listed=table.page.count if searched else None)
    context |= {"pasted": banner, "pasted_refused": pasted_refused, "page_refused": page_refused}
    return context, 200 if filters.is_valid() and not page_refused else 400


def _count(filters: ContactFilter, narrowed: bool) -> int:
    """The list's total: the site's kept count, a Product's or an Offer's counters, or counted."""
    if not narrowed:
        return contacts_count(filters.site)
    counted = filters.counted()
    return filters.qs.count() if counted is None else counted


def _pasted(request):
    """The pasted selection the address names, or why it cannot be used."""
    pasted_id = request.GET.get("pasted")
    if not pasted_id:
        return None, ""
    try:
        return pasted_selection_for(site=request.site, user=request.user, pasted_id=pasted_id), ""
    except ValidationError as error:
        return None, error.messages[0]


def _panel(request, template: str, context: dict):
    """The panel's content for HTMX; otherwise the whole Contacts tab with the panel open."""
    if wants_partial(request):
        # From the profile's Products, More Info opens beside them and the address stays.
        in_contacts_tab = _shown_step(request) is not None
        context = {**context, "search": search_of(request.GET), "in_contacts_tab": in_contacts_tab}
        return render(request, template, context)
    tab, status = _contacts_tab(request, open_contact=context["contact"].pk)
    return render(
        request,
        "contacts/list.html",
        {**tab, **context, "panel_template": template, "in_contacts_tab": True},
        status=status,
    )


@permission_required("kajaccess.view_contacts")
@require_GET
def contact_list(request):
    shown = _shown_step(request) if wants_partial(request) else None
    open_panel = shown if shown is not None and shown.url_name in PANEL_STEPS else None
    context, status = _contacts_tab(
        request, open_contact=open_panel.kwargs["contact_id"] if open_panel else None
    )
    if not wants_partial(request):
        return render(request, "contacts/list.html", context, status=status)
    response = render(request, "contacts/partials/table.html", context, status=status)
    if request.htmx.trigger != TABLE_REFRESH:
        # A new search, sort or page keeps the open panel in the address, so that Back,
        # a reload or a shared link shows it again over the same search.
        name = f"contacts:{open_panel.url_name}" if open_panel else "contacts:list"
        kwargs = open_panel.kwargs if open_panel else {}
        response["HX-Push-Url"] = reverse(name, kwargs=kwargs) + context["search"]
    return response


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
        "search": "",
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
    context = {
        "contact": contact,
        "page": paginator.get_page(request.GET.get("page")),
        "profile_tab": "activity",
        "active_tab": "contacts",
    }
    if wants_partial(request):
        return render(request, "contacts/partials/activity.html", context)
    return render(request, "contacts/profile_activity.html", context)
