import django_tables2 as tables
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html

from contacts.models import Contact
from purchases.access.states import AccessState


def percent_done(done: int, total: int) -> int | None:
    """Whole percent, rounded down: only a finished product reads 100%."""
    return done * 100 // total if total else None


class ProgressTable(tables.Table):
    """The Product Progress report: one row per contact who holds or held the Product."""

    name = tables.Column(verbose_name="Name / email", order_by=("name", "email"))
    lessons_done = tables.Column(
        verbose_name="Lessons completed",
        attrs={
            "td": {"class": "numeric nowrap", "data-label": "Lessons"},
            "th": {"class": "numeric"},
        },
    )
    percent = tables.Column(
        verbose_name="Percent",
        accessor="lessons_done",
        order_by=("lessons_done",),
        attrs={"td": {"class": "progress-cell", "data-label": "Percent"}},
    )
    last_completed_at = tables.DateTimeColumn(
        verbose_name="Last activity",
        format="M j, Y",
        default="—",
        attrs={"td": {"data-label": "Last activity"}},
    )
    access_rank = tables.Column(verbose_name="Access")

    class Meta:
        model = Contact
        fields = []
        sequence = ["name", "lessons_done", "percent", "last_completed_at", "access_rank"]
        template_name = "products/progress_table.html"
        order_by = ("name",)
        empty_text = "Nobody holds this product, or nobody matches these filters."
        row_attrs = {"data-access": lambda record: AccessState.ranked(record.access_rank).value}

    def __init__(self, *args, lessons_total: int, **kwargs):
        self.lessons_total = lessons_total
        super().__init__(*args, **kwargs)

    @property
    def paginated_rows(self):
        # The page comes from contacts.paging, by keyset, not from django-tables2's paginator.
        return tables.rows.BoundRows(self.page.object_list, table=self)

    def render_name(self, record):
        # The contact's preview on the Contacts tab: a page of its own, not a part of the report.
        link = format_html(
            '<a class="contact-cell__name" href="{}" hx-boost="false"><strong>{}</strong></a>',
            reverse("contacts:preview", args=[record.pk]),
            record.name or record.email,
        )
        if record.name:
            return format_html(
                '<span class="contact-cell">{}<span class="muted">{}</span></span>',
                link,
                record.email,
            )
        return format_html('<span class="contact-cell">{}</span>', link)

    def render_lessons_done(self, value):
        return f"{value} of {self.lessons_total}"

    def render_percent(self, value):
        percent = percent_done(value, self.lessons_total)
        if percent is None:
            return "—"
        return format_html(
            '<progress max="100" value="{}" aria-hidden="true"></progress>'
            '<span class="progress-cell__value">{}%</span>',
            percent,
            percent,
        )

    def render_access_rank(self, value):
        # The column is "Access", so its badges read the states' labels: "Has access".
        state = AccessState.ranked(value)
        return render_to_string(
            "partials/access_badge.html", {"state": state, "label": state.label}
        )
