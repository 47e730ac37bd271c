"""The Products tab and the Product Progress report, with its CSV."""

from collections import Counter
from datetime import datetime
from urllib.parse import urlencode

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_GET
from django_tables2 import RequestConfig

from contacts.paging import KeysetPager, SortKey, StalePage, page_query, sort_of
from contacts.table import clamp_per_page
from kajaccess.spreadsheet import IsoTime, csv_response
from kajaccess.web import permission_required, wants_partial
from products.charts import completion_chart, weekly_chart
from products.filters import ProgressFilter
from products.models import Product
from products.tables import ProgressTable, percent_done
from purchases.access.states import AccessState
from purchases.reports import selectors

PER_PAGE = 50
# The report's pages are found by keyset, as the Contacts tab's are (contacts/paging.py):
# each sort one range of a holder or contact index, however deep the page.
PROGRESS_SORTS = {
    "name": SortKey(("name", "email", "pk")),
    "lessons_done": SortKey(("lessons_done", "pk"), kind=int),
    "percent": SortKey(("lessons_done", "pk"), kind=int),
    "last_completed_at": SortKey(("last_completed_at", "pk"), nullable=True, kind=datetime),
    "access_rank": SortKey(("access_rank", "pk"), kind=int),
}


def _product(request, product_id: int) -> Product:
    return get_object_or_404(Product, site=request.site, pk=product_id)


@permission_required("kajaccess.view_products")
@require_GET
def product_list(request):
    return render(
        request,
        "products/list.html",
        {"summaries": selectors.product_summaries(request.site), "active_tab": "products"},
    )


def _progress_filter(request, product):
    lessons_total = product.lessons.count()
    report = ProgressFilter(request.GET, queryset=selectors.product_progress(product))
    return report, lessons_total


@permission_required("kajaccess.view_products", lookup=_product)
@require_GET
def product_progress(request, product_id: int):
    product = _product(request, product_id)
    report, lessons_total = _progress_filter(request, product)
    if not report.is_valid():
        context = {"product": product, "filter": report, "active_tab": "products", "invalid": True}
        if wants_partial(request):
            return render(request, "products/partials/progress_refusal.html", context, status=400)
        return render(request, "products/progress.html", context, status=400)
    table = ProgressTable(report.qs, lessons_total=lessons_total)
    RequestConfig(request, paginate=False).configure(table)
    # Unless searched, the count and the chart are the Product's counters (of one access
    # state when filtered by it); searched, the rows that match.
    searched = bool(report.form.cleaned_data.get("q"))
    summary = None
    if not searched or not wants_partial(request):
        summary = selectors.product_summaries(request.site, product)[0]
    counted = None
    if not searched:
        counted = summary.counted
        if access := report.form.cleaned_data.get("access"):
            rank = AccessState(access).rank
            counted = Counter({key: n for key, n in counted.items() if key[0] == rank})
    page_refused = _paginate(
        table,
        request.GET,
        report.qs,
        count=report.qs.count() if counted is None else sum(counted.values()),
    )
    distribution = selectors.completion_distribution(report.qs, lessons_total, counted=counted)
    context = {
        "product": product,
        "filter": report,
        "table": table,
        "lessons_total": lessons_total,
        "shown": sum(count for _, count in distribution),
        "distribution": completion_chart(distribution),
        "csv_url": _csv_url(request, product),
        "active_tab": "products",
        "page_refused": page_refused,
    }
    status = 400 if page_refused else 200
    if wants_partial(request):
        # The table, and the completion chart that follows the same filters.
        return render(request, "products/partials/progress_update.html", context, status=status)
    context["summary"] = summary
    context["weeks"] = weekly_chart(selectors.weekly_access_changes(product))
    return render(request, "products/progress.html", context, status=status)


def _paginate(table: ProgressTable, query, rows, count: int) -> str:
    """The page and page size asked for, kept within the Contacts tab's bounds; never a 500.

    A page link that is forged or out of date shows the first page and says why, as a 400
    (as on the Contacts tab): the page is a view parameter, never a reason not to show the
    report.
    """
    try:
        per_page = clamp_per_page(int(query["per_page"]))
    except (KeyError, ValueError):
        per_page = PER_PAGE
    sort = sort_of(table.order_by, PROGRESS_SORTS, "name")
    table.order_by = sort
    pager = KeysetPager(
        rows,
        sort=sort,
        per_page=per_page,
        count=count,
        sorts=PROGRESS_SORTS,
        salt="products.progress.page",
    )
    refused = ""
    try:
        table.page = pager.page(query.get("page"))
    except StalePage as error:
        refused = error.messages[0]
        table.page = pager.first()
    table.page.links = {name: page_query(query, value) for name, value in table.page.links.items()}
    return refused


def _csv_url(request, product) -> str:
    """Export CSV of the rows the filters show, whatever the page and the sort."""
    url = reverse("products:progress_csv", args=[product.pk])
    filters = {name: request.GET[name] for name in ("q", "access") if request.GET.get(name)}
    return f"{url}?{urlencode(filters)}" if filters else url


@permission_required("kajaccess.view_products", "kajaccess.export_contacts", lookup=_product)
@require_GET
def product_progress_csv(request, product_id: int):
    product = _product(request, product_id)
    report, lessons_total = _progress_filter(request, product)
    if not report.is_valid():
        return HttpResponse(
            "Those filters are not valid: pick an access state from the list.",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    contacts = report.qs.order_by("name", "email", "pk").values_list(
        "name", "email", "lessons_done", IsoTime("last_completed_at"), "access_rank"
    )
    header = [
        "Name",
        "Email",
        "Lessons completed",
        "Lessons total",
        "Percent",
        "Last activity",
        "Access",
    ]

    labels = {state.rank: state.label for state in AccessState}

    def rows():
        for name, email, done, last, rank in contacts.iterator(chunk_size=2000):
            percent = percent_done(done, lessons_total)
            yield [name, email, done, lessons_total, percent, last or "", labels[rank]]

    filename = f"{slugify(product.title) or 'product'}-progress.csv"
    return csv_response(header, rows(), filename=filename)
