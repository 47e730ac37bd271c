"""The Contacts tab's table. Rows come from purchases.selectors.contacts_table, a page
at a time from contacts.paging."""

from html import escape

import django_tables2 as tables
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.safestring import mark_safe
from django.utils.translation import ngettext

from contacts.bulk.actions import registry
from contacts.models import Contact
from kajaccess.tables import RowsInOnePass

PER_PAGE_CHOICES = (10, 25, 50, 100)


PER_PAGE_DEFAULT = 25


def clamp_per_page(value) -> int:
    """Rows per page the creator asked for, kept within 10..100; anything else is the default."""
    try:
        per_page = int(value)
    except (TypeError, ValueError):
        return PER_PAGE_DEFAULT
    return max(PER_PAGE_CHOICES[0], min(PER_PAGE_CHOICES[-1], per_page))


# Dates in the table are written by hand: at fifty rows a page, Django's date formatting
# and timesince were a third of the Contacts tab's time (`make bench`).
AGO_UNITS = (
    (("%d year ago", "%d years ago"), 365 * 86400),
    (("%d month ago", "%d months ago"), 30 * 86400),
    (("%d week ago", "%d weeks ago"), 7 * 86400),
    (("%d day ago", "%d days ago"), 86400),
    (("%d hour ago", "%d hours ago"), 3600),
    (("%d minute ago", "%d minutes ago"), 60),
)


def short_date(value) -> str:
    """ "Jul 31, 2026": the table's date, as Django's "M j, Y" writes it."""
    return f"{value:%b} {value.day}, {value.year}"


def ago(value, now) -> str:
    """ "3 days ago" in the largest whole unit; "Just now" under a minute."""
    seconds = (now - value).total_seconds()
    for (singular, plural), size in AGO_UNITS:
        if seconds >= size:
            count = int(seconds // size)
            return ngettext(singular, plural, count) % count
    return "Just now"


def preview_url_format() -> str:
    """A contact preview's address with "{}" for the contact: one `reverse` for a page of rows."""
    return reverse("contacts:preview", args=[0]).replace("/0/", "/{}/")


class ContactTable(RowsInOnePass, tables.Table):
    # Checked rows travel in the bulk actions form that wraps the table; the header
    # checkbox (shown by the page's script) checks the whole page.
    select = tables.CheckBoxColumn(
        accessor="pk",
        attrs={
            "th": {"class": "select-cell"},
            "td": {"class": "select-cell"},
            "th__input": {
                "aria-label": "Select all contacts on this page",
                "data-select-page": "",
                "hidden": "",
            },
        },
    )
    contact = tables.Column(
        verbose_name="Name",
        accessor="name",
        order_by=("name", "email", "pk"),
        attrs={"td": {"class": "contact-cell"}},
    )
    is_customer = tables.Column(verbose_name="Customer")
    # Stacked as a card per row on narrow screens, a cell shows its column's name (data-label).
    total_products = tables.Column(
        verbose_name="Total products",
        accessor="products_count",
        attrs={
            "th": {"class": "numeric"},
            "td": {"class": "numeric", "data-label": "Total products"},
        },
    )
    tags = tables.Column(verbose_name="Tags", orderable=False, attrs={"td": {"data-label": "Tags"}})
    created_at = tables.Column(verbose_name="Added", attrs={"td": {"data-label": "Added"}})
    last_activity_at = tables.Column(
        verbose_name="Last activity", default="—", attrs={"td": {"data-label": "Last activity"}}
    )

    # The table's footer offers these, and its sort and page size travel with the filters.
    per_page_choices = PER_PAGE_CHOICES
    filter_form_id = "contacts-filters"
    # Under an open panel (whose address is the page's) sorting and paging stay on the tab.
    base_path = reverse_lazy("contacts:list")

    @property
    def bulk_actions(self) -> list[tuple[str, str, str]]:
        """The action bar above the table (Export CSV comes after them), with permissions."""
        return [(action.name, action.label, action.permission) for action in registry.menu()]

    def __init__(self, *args, search: str = "", open_contact: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # The contact links carry the table's search, so that the panel's address keeps it.
        self.search = search
        # The row of the contact whose panel is open stays marked while focus is in the panel.
        self.open_contact = open_contact

    class Meta:
        model = Contact
        fields = ()
        sequence = (
            "select",
            "contact",
            "is_customer",
            "total_products",
            "tags",
            "created_at",
            "...",
        )
        attrs = {"class": "contacts-table"}
        template_name = "contacts/contact_table.html"
        empty_text = "No contacts match this search."

    def row_start(self, record) -> str:
        # The row of the open panel's contact stays marked.
        current = ' aria-current="true"' if record.pk == self.open_contact else ""
        return f'<tr id="contact-row-{record.pk}"{current}>'

    def render_select(self, record):
        name = escape(record.display_name)
        return mark_safe(
            f'<input type="checkbox" name="ids" value="{record.pk}" aria-label="Select {name}"'
            ' aria-describedby="bulk-keys">'
        )

    @cached_property
    def _preview_url(self) -> str:
        return preview_url_format()

    @cached_property
    def _search_html(self) -> str:
        return escape(self.search)

    def render_contact(self, record):
        url = self._preview_url.format(record.pk) + self._search_html
        return mark_safe(
            f'<a href="{url}" hx-get="{url}" hx-target="#panel" hx-push-url="true"'
            ' hx-swap="innerHTML">'
            f'{escape(record.display_name)}</a><span class="muted">{escape(record.email)}</span>'
        )

    def render_is_customer(self, record):
        if record.is_customer:
            return mark_safe('<span class="badge badge--info">Customer</span>')
        return mark_safe(
            '<span class="muted" aria-hidden="true">—</span>'
            '<span class="visually-hidden">Not a customer</span>'
        )

    def render_total_products(self, record):
        return mark_safe(f'<span id="total-products-{record.pk}">{record.products_count}</span>')

    def render_tags(self, record):
        if not record.tag_list:
            return "—"
        return mark_safe(
            "".join(f'<span class="tag">{escape(tag.name)}</span>' for tag in record.tag_list)
        )

    def render_created_at(self, record):
        value = timezone.localtime(record.created_at)
        return mark_safe(
            f'<time datetime="{value.isoformat(timespec="seconds")}">{short_date(value)}</time>'
        )

    def render_last_activity_at(self, record):
        if record.last_activity_at is None:
            return "—"
        value = timezone.localtime(record.last_activity_at)
        return mark_safe(
            f'<time datetime="{value.isoformat(timespec="seconds")}" title="{short_date(value)}, {value:%H:%M}">'
            f"{ago(value, self._now)}</time>"
        )

    @cached_property
    def _now(self):
        return timezone.now()
