"""Every export as CSV: streamed a few hundred lines at a time, each cell safe to open in a
spreadsheet."""

import csv
import io
from collections.abc import Iterable, Iterator
from itertools import islice

from django.db.models import CharField, Func
from django.http import StreamingHttpResponse

# A spreadsheet runs a cell that starts like a formula (or a tab or carriage return before
# one); a leading quote keeps it text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# Lines are sent this many at a time: a million one-line chunks cost more in the response's
# machinery than in writing them.
LINES_PER_CHUNK = 500


def _safe(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return f"'{value}"
    return value


def csv_lines(header: list[str], rows: Iterable[list]) -> Iterator[str]:
    """The CSV a few hundred lines at a time, so memory stays flat whatever the number of rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    yield buffer.getvalue()
    rows = iter(rows)
    while batch := list(islice(rows, LINES_PER_CHUNK)):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([_safe(value) for value in row] for row in batch)
        yield buffer.getvalue()


class IsoTime(Func):
    """A moment as the exports write it (2026-01-31T09:30:00+00:00, in UTC, the site's
    TIME_ZONE), written by the database: read as datetimes and formatted one by one, the
    moments of a million-row export cost seconds of Python. Django has no such function."""

    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra):
        template = (
            "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"')"
        )
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler, connection, **extra):
        # %% twice: once for this template, once for the backend's parameter style.
        template = "strftime('%%%%Y-%%%%m-%%%%dT%%%%H:%%%%M:%%%%S+00:00', %(expressions)s)"
        return self.as_sql(compiler, connection, template=template, **extra)


def csv_response(header: list[str], rows: Iterable[list], *, filename: str):
    """A download of the CSV, streamed."""
    response = StreamingHttpResponse(
        csv_lines(header, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
