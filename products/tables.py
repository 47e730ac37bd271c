import django_tables2 as tables
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html

from contacts.models import Contact
from contacts.table import preview_url_format, short_date
from kajaccess.tables import RowsInOnePass
from purchases.access.states import AccessState


def percent_done(done: int, total: int) -> int | None:
    """Whole percent, rounded down: only a finished product reads 100%."""
    return done * 100 // total if total else None


class ProgressTable(RowsInOnePass, tables.Table):
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
    last_completed_at = tables.Column(
        verbose_name="Last activity", attrs={"td": {"data-label": "Last activity"}}
    )
    access_rank = tables.Column(verbose_name="Access")

    class Meta:
        model = Contact
        fields = []
        sequence = ["name", "lessons_done", "percent", "last_completed_at", "access_rank"]
        template_name = "products/progress_table.html"
        order_by = ("name",)
        empty_text = "Nobody holds this product, or nobody matches these filters."

    def __init__(self, *args, lessons_total: int, **kwargs):
        self.lessons_total = lessons_total
        super().__init__(*args, **kwargs)

    def row_start(self, record) -> str:
        return f'<tr data-access="{AccessState.ranked(record.access_rank).value}">'

    @cached_property
    def _preview_url(self) -> str:
        return preview_url_format()

    def render_name(self, record):
        # The contact's preview on the Contacts tab: a page of its own, not a part of the report.
        link = format_html(
            '<a class="contact-cell__name" href="{}" hx-boost="false"><strong>{}</strong></a>',
            self._preview_url.format(record.pk),
            record.name or record.email,
        )
        if record.name:
            return format_html(
                '<span class="contact-cell">{}<span class="muted">{}</span></span>',
                link,
                record.email,
            )
        return format_html('<span class="contact-cell">{}</span>', link)

    def render_lessons_done(self, record):
        return f"{record.lessons_done} of {self.lessons_total}"

    def render_percent(self, record):
        percent = percent_done(record.lessons_done, self.lessons_total)
        if percent is None:
            return "—"
        return format_html(
            '<progress max="100" value="{}" aria-hidden="true"></progress>'
            '<span class="progress-cell__value">{}%</span>',
            percent,
            percent,
        )

    def render_last_completed_at(self, record):
        if record.last_completed_at is None:
            return "—"
        return short_date(timezone.localtime(record.last_completed_at))

    def render_access_rank(self, record):
        # The column is "Access", so its badges read the states' labels: "Has access".
        state = AccessState.ranked(record.access_rank)
        return render_to_string(
            "partials/access_badge.html", {"state": state, "label": state.label}
        )
