"""What the project's django-tables2 tables share."""

from django.utils.functional import cached_property
from django.utils.safestring import SafeString, mark_safe


class RowsInOnePass:
    """A table whose page of rows is built in one pass from its render methods.

    django-tables2 renders a cell through a generic path that inspects the render method's
    signature every time; at fifty rows a page that was most of a page's time (`make
    bench`), so the rows are assembled here. Each column has a `render_<name>(record)` that
    writes its HTML directly, escaping what a contact typed; the table's template writes
    `table.rows_html` in its body.
    """

    def row_start(self, record) -> str:
        """The row's opening tag."""
        return "<tr>"

    @cached_property
    def rows_html(self) -> list[SafeString]:
        columns = [
            (getattr(self, f"render_{column.name}"), column.attrs["td"].as_html())
            for column in self.columns
        ]
        return [
            mark_safe(
                self.row_start(record)
                + "".join(f"<td {td}>{render(record)}</td>" for render, td in columns)
                + "</tr>"
            )
            for record in self.page.object_list
        ]
