"""The Contacts tab's pages (and the Progress report's and the Activity tab's), found by
keyset: the last page costs what the first does.

A page's address names where it starts, not how many rows come before it: Next carries
the sort values and id of the page's last row, Previous those of its first, and the
query reads the rows after (or before) that point along an index of the site and the
sorted column, so a page never walks the rows before it as OFFSET would. Rows added
or removed meanwhile move no other row between pages. First and Last are plain ends
of the order (`page=last`), and a small page number (`page=3`, the old links and
bookmarks) is read from the start, a few hundred rows at most.

django-tables2's paginator counts and slices by OFFSET; the table keeps its columns,
headers and sort links, and this module gives it the page.
"""

import math
from dataclasses import dataclass, field
from datetime import datetime

from django.core import signing
from django.core.exceptions import ValidationError
from django.db.models import BooleanField, DateTimeField, F, Func, Q, QuerySet, Value
from django.db.models.query import prefetch_related_objects
from django.http import QueryDict

# Pages reached by their number, read from the start: any further is reached by keyset.
NUMBERED_PAGES = 10
CURSOR_SALT = "contacts.page"


@dataclass(frozen=True)
class SortKey:
    """How the table orders by one of its columns: the fields compared, the last one the id."""

    fields: tuple[str, ...]
    # A column some contacts have no value in (Last activity): those rows come last
    # either way, ordered by id.
    nullable: bool = False
    # How a value of the first field is written in a page's address and read back.
    kind: type = str


SORTS = {
    "contact": SortKey(("name", "email", "pk")),
    "is_customer": SortKey(("is_customer", "pk"), kind=bool),
    "total_products": SortKey(("products_count", "pk"), kind=int),
    "created_at": SortKey(("created_at", "pk"), kind=datetime),
    "last_activity_at": SortKey(("last_activity_at", "pk"), nullable=True, kind=datetime),
}
# As Contact.Meta.ordering: the newest first.
DEFAULT_SORT = "-created_at"


class StalePage(ValidationError):
    """A page's address that this table did not make, or made for another sort."""


def sort_of(order_by, sorts: dict[str, SortKey] = SORTS, default: str = DEFAULT_SORT) -> str:
    """The table's sort as "-name" or "name": its first known column, or the default."""
    for alias in order_by or ():
        if alias.lstrip("-") in sorts:
            return alias
    return default


class _Row(Func):
    """A row value, "(a, b, c)": compared as a whole, it is one range of a composite index.

    Spelled out as (a > x) OR (a = x AND b > y) ..., PostgreSQL can start the index scan
    only at a >= x, and on a column of two values (Customer) that is half the site.
    """

    template = "(%(expressions)s)"


def _beyond(fields, values, *, descending: bool) -> Q:
    """Rows after `values` in the order of `fields` (before them when `descending`)."""
    values = [Value(value, output_field=_output(value)) for value in values]
    comparison = Func(
        _Row(*(F(name) for name in fields)),
        _Row(*values),
        template="%(expressions)s",
        arg_joiner=" < " if descending else " > ",
        output_field=BooleanField(),
    )
    return Q(comparison)


def _output(value):
    # A datetime must be adapted as the column stores it (naive UTC text on SQLite).
    return DateTimeField() if isinstance(value, datetime) else None


@dataclass(frozen=True)
class _Segment:
    """Part of the order that one index range serves: the rows with a value, then without."""

    filter: Q
    fields: tuple[str, ...]


def _segments(key: SortKey) -> list[_Segment]:
    first = key.fields[0]
    if not key.nullable:
        return [_Segment(Q(), key.fields)]
    # NULLS LAST matches no index read backwards: each part is ordered on its own.
    return [
        _Segment(Q(**{f"{first}__isnull": False}), key.fields),
        _Segment(Q(**{f"{first}__isnull": True}), ("pk",)),
    ]


def _values(record, fields) -> list:
    return [getattr(record, name) for name in fields]


@dataclass
class KeysetPage:
    """One page of a list, with the addresses of First, Previous, Next and Last."""

    object_list: list
    # None when there are too many rows to count on every request (the site's Activity).
    count: int | None
    per_page: int
    # 0 when not known: a page reached from the end of an uncounted list.
    start_index: int
    has_previous: bool
    has_next: bool
    is_last: bool = False
    links: dict[str, str] = field(default_factory=dict)

    @property
    def end_index(self) -> int:
        return self.start_index + len(self.object_list) - 1 if self.start_index else 0

    @property
    def num_pages(self) -> int | None:
        if self.count is None:
            return None
        return max(1, math.ceil(self.count / self.per_page))

    @property
    def number(self) -> int | None:
        if self.count is None:
            return (self.start_index - 1) // self.per_page + 1 if self.start_index else None
        if self.is_last or not self.has_next:
            return self.num_pages
        return min(self.num_pages, (self.start_index - 1) // self.per_page + 1)

    @property
    def steps(self) -> list[tuple[str, str, str]]:
        """The pager's links in order, (label, rel, query string); no query where it leads nowhere."""
        links = self.links
        return [
            ("First", "first", links.get("first", "")),
            ("Previous", "prev", links.get("previous", "")),
            ("", "current", ""),
            ("Next", "next", links.get("next", "")),
            ("Last", "last", links.get("last", "")),
        ]

    @property
    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next


class KeysetPager:
    """Reads a page of `queryset` (the filtered Contacts tab, or another list with its own
    `sorts`) in the order of `sort`."""

    def __init__(
        self,
        queryset: QuerySet,
        *,
        sort: str,
        per_page: int,
        count: int | None,
        sorts: dict[str, SortKey] = SORTS,
        salt: str = CURSOR_SALT,
    ):
        self.sort = sort
        self.descending = sort.startswith("-")
        self.key = sorts[sort.lstrip("-")]
        # A page link of one list is refused by another.
        self.salt = salt
        self.per_page = per_page
        self.count = count
        # Each part of the order is one query; the tags of the page's rows one more.
        self.lookups = queryset._prefetch_related_lookups
        self.queryset = queryset.prefetch_related(None)

    # --- reading rows ----------------------------------------------------------------

    def _ordered(self, segment: _Segment, *, backwards: bool) -> QuerySet:
        descending = self.descending != backwards
        order = [F(name).desc() if descending else F(name).asc() for name in segment.fields]
        return self.queryset.filter(segment.filter).order_by(*order)

    def _read(self, limit: int, *, after=None, backwards: bool = False) -> list:
        """Up to `limit` rows following `after` (the sort values and id of a row), or from the end."""
        segments = _segments(self.key)
        if backwards:
            segments = segments[::-1]
        if after is not None:
            # The part of the order the row is in (a row without a value is in the last).
            inside = 1 if self.key.nullable and after[0] is None else 0
            inside = len(segments) - 1 - inside if backwards else inside
            segments = segments[inside:]
        rows = []
        for number, segment in enumerate(segments):
            rows_of = self._ordered(segment, backwards=backwards)
            if number == 0 and after is not None:
                values = after if len(segment.fields) == len(after) else after[-1:]
                rows_of = rows_of.filter(
                    _beyond(segment.fields, values, descending=self.descending != backwards)
                )
            rows += rows_of[: limit - len(rows)]
            if len(rows) >= limit:
                break
        return rows

    # --- pages -----------------------------------------------------------------------

    def first(self) -> KeysetPage:
        rows = self._read(self.per_page + 1)
        return self._page(
            rows[: self.per_page], start=1, previous=False, more=len(rows) > self.per_page
        )

    def last(self) -> KeysetPage:
        rows = self._read(self.per_page + 1, backwards=True)
        shown = rows[: self.per_page][::-1]
        if len(rows) <= self.per_page:
            return self.first()
        start = max(1, self.count - len(shown) + 1) if self.count is not None else 0
        return self._page(shown, start=start, previous=True, more=False, is_last=True)

    def numbered(self, number: int) -> KeysetPage:
        """Page `number`, read from the start: only NUMBERED_PAGES deep, or the last page."""
        if number <= 1:
            return self.first()
        if self.count is not None and (number - 1) * self.per_page >= self.count:
            return self.last()
        if number > NUMBERED_PAGES:
            raise StalePage(
                f"Page {number} is too far in to open by its number. "
                "Use Next, Previous and Last, or narrow the search.",
                code="page_number",
            )
        skip = (number - 1) * self.per_page
        rows = self._read(skip + self.per_page + 1)[skip:]
        if not rows:
            return self.last()
        more = len(rows) > self.per_page
        return self._page(rows[: self.per_page], start=skip + 1, previous=True, more=more)

    def following(self, values, start: int) -> KeysetPage:
        rows = self._read(self.per_page + 1, after=values)
        if not rows:
            # Everything after it has gone since: the end of the list is the nearest page.
            return self.last()
        more = len(rows) > self.per_page
        if start and self.count is not None:
            start = min(max(start, 2), max(2, self.count - len(rows[: self.per_page]) + 1))
        return self._page(rows[: self.per_page], start=start, previous=True, more=more)

    def preceding(self, values, start: int) -> KeysetPage:
        rows = self._read(self.per_page + 1, after=values, backwards=True)
        if len(rows) <= self.per_page:
            # Fewer than a page before it: that is the first page, shown whole.
            return self.first()
        start = max(start, 2) if start else 0
        return self._page(rows[: self.per_page][::-1], start=start, previous=True, more=True)

    def page(self, asked: str | None) -> KeysetPage:
        """The page an address's `page` names: a number, "last", or a link's cursor."""
        asked = (asked or "").strip()
        if asked in ("", "first"):
            return self.first()
        if asked == "last":
            return self.last()
        if asked.lstrip("-").isdigit():
            return self.numbered(int(asked))
        direction, values, start = self._cursor(asked)
        if direction == "after":
            return self.following(values, start)
        return self.preceding(values, start)

    # --- addresses -------------------------------------------------------------------

    def _page(self, rows, *, start, previous, more, is_last=False) -> KeysetPage:
        if rows:
            prefetch_related_objects(rows, *self.lookups)
        page = KeysetPage(
            object_list=rows,
            count=self.count,
            per_page=self.per_page,
            start_index=start if rows else 0,
            has_previous=previous,
            has_next=more,
            is_last=is_last,
        )
        if previous:
            page.links["first"] = "first"
            page.links["previous"] = self._token(
                "before", rows[0], max(1, start - self.per_page) if start else 0
            )
        if more:
            page.links["next"] = self._token("after", rows[-1], start + len(rows) if start else 0)
            page.links["last"] = "last"
        return page

    def _token(self, direction: str, record, start: int) -> str:
        values = [_written(value) for value in _values(record, self.key.fields)]
        payload = {"d": direction, "s": self.sort, "v": values, "n": start}
        return signing.dumps(payload, salt=self.salt)

    def _cursor(self, token: str):
        """A page link's direction, row values and start, or StalePage saying why not."""
        try:
            payload = signing.loads(token, salt=self.salt)
        except signing.BadSignature:
            raise StalePage(
                "This page link was not made by this table, or is out of date. "
                "Here is the first page.",
                code="page_forged",
            ) from None
        if not isinstance(payload, dict) or payload.get("s") != self.sort:
            raise StalePage(
                "This page link is for another order of the table. Here is the first page.",
                code="page_stale",
            )
        try:
            values = self._read_values(payload["v"])
            start = int(payload["n"])
            direction = payload["d"]
            if direction not in ("after", "before") or start < 0:
                raise ValueError(direction)
        except (KeyError, TypeError, ValueError):
            raise StalePage(
                "This page link is out of date. Here is the first page.", code="page_stale"
            ) from None
        return direction, values, start

    def _read_values(self, written) -> list:
        if not isinstance(written, list) or len(written) != len(self.key.fields):
            raise ValueError(written)
        first, *rest = written
        if first is None:
            if not self.key.nullable:
                raise ValueError(first)
        elif self.key.kind is datetime:
            first = datetime.fromisoformat(first)
            if first.tzinfo is None:
                raise ValueError(first)
        elif not isinstance(first, self.key.kind) or (
            self.key.kind is int and isinstance(first, bool)
        ):
            raise ValueError(first)
        # The sort by Name compares name, then email, then id.
        *texts, pk = rest
        if not all(isinstance(text, str) for text in texts):
            raise ValueError(texts)
        if not isinstance(pk, int) or isinstance(pk, bool):
            raise ValueError(pk)
        return [first, *texts, pk]


def _written(value):
    return value.isoformat() if isinstance(value, datetime) else value


def count_up_to(queryset: QuerySet, limit: int) -> int | None:
    """How many rows `queryset` has, or None when more than `limit`: a list too long to
    count on every request (a site's audit trail) reads at most `limit` index entries."""
    counted = queryset.order_by().values("pk")[: limit + 1].count()
    return counted if counted <= limit else None


def page_query(query: QueryDict, page: str) -> str:
    """The address's query string with its page set to `page` ("?q=ada&page=last")."""
    query = query.copy()
    query["page"] = page
    return f"?{query.urlencode()}"
