"""The Contacts tab's search: part of a name or an email, in any letter case, found by index.

Both databases answer exactly what `name__icontains | email__icontains` answers on them;
the indexes only make it fast:

- PostgreSQL: pg_trgm GIN indexes on UPPER(name) and UPPER(email) (migration 0006), the
  very expression Django's `icontains` writes there, so the planner uses them as they are.
- SQLite: an FTS5 table with the trigram tokenizer, `contact_search`, kept by triggers on
  the contacts table. Its MATCH narrows the contacts to those holding every three letters
  of the text in a row (case folded), then `icontains` checks each of them exactly. Text
  shorter than three letters has no trigram, so it is searched by a plain scan.

Letter case differs as it always did between the two: SQLite's LIKE folds only the
letters A to Z (É and é differ there), PostgreSQL's UPPER folds every alphabet.

A trigram that almost every contact holds ("cus" of "customer", "com" of "example.com")
narrows nothing, yet costs the index its whole list of contacts: at a million, a search
for "customer0001" read 1,600 index pages for 100 contacts. PostgreSQL keeps a sample of
every indexed column for its planner (pg_stats); the trigrams held by more than
COMMON_SHARE of that sample are common, and the index is asked only for the longest part
of the text holding none of them ("er0001"). The whole text is then checked on the
contacts found, by a test no index serves (strpos), so the answer stays exactly
`icontains`'. The share is high on purpose: leaving out a trigram that only most contacts
hold could let the part match many more contacts than the text, each read to be checked.
"""

import re
import time
from collections import Counter

from django.db import connections
from django.db.models import Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import StrIndex, Upper
from django.db.models.lookups import GreaterThan

TABLE = "contact_search"
TRIGRAM = 3
TRIGRAM_INDEXES = ("contact_name_trgm", "contact_email_trgm")
# A trigram held by more than this share of the sampled names (or emails) is common.
COMMON_SHARE = 0.9
STATISTICS_KEPT_SECONDS = 60
# Database alias: (when read, the common trigrams).
_kept_common: dict[str, tuple[float, set[str]]] = {}
_WORD = re.compile(r"[^\W_]+")

# The triggers keep the index in the same transaction as each write to contacts, whoever
# writes (ORM, bulk_create, raw SQL). An external-content table stores no second copy of
# the names and emails; its "delete" command needs the values it indexed, which OLD gives.
_TRIGGERS = {
    f"{TABLE}_insert": f"""
        CREATE TRIGGER IF NOT EXISTS {TABLE}_insert AFTER INSERT ON contacts_contact BEGIN
          INSERT INTO {TABLE}(rowid, name, email) VALUES (new.id, new.name, new.email);
        END""",
    f"{TABLE}_delete": f"""
        CREATE TRIGGER IF NOT EXISTS {TABLE}_delete AFTER DELETE ON contacts_contact BEGIN
          INSERT INTO {TABLE}({TABLE}, rowid, name, email)
            VALUES ('delete', old.id, old.name, old.email);
        END""",
    f"{TABLE}_update": f"""
        CREATE TRIGGER IF NOT EXISTS {TABLE}_update AFTER UPDATE OF name, email
          ON contacts_contact BEGIN
          INSERT INTO {TABLE}({TABLE}, rowid, name, email)
            VALUES ('delete', old.id, old.name, old.email);
          INSERT INTO {TABLE}(rowid, name, email) VALUES (new.id, new.name, new.email);
        END""",
}


def ensure_contact_search(connection, *, create: bool = True) -> bool:
    """On SQLite, create the search table and its triggers where missing; True if it did.

    Run by migration 0006 and, with `create=False` (mend, but only once 0006 made the
    table), after every `migrate`: SQLite rebuilds a table for many schema changes (a new
    NOT NULL column, say), and dropping the old table drops its triggers with it. Whenever
    something was missing the index is rebuilt from the contacts, since writes made
    meanwhile were not indexed.
    """
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger') AND name IN "
            f"({', '.join(['%s'] * (len(_TRIGGERS) + 1))})",
            [TABLE, *_TRIGGERS],
        )
        present = {name for (name,) in cursor.fetchall()}
        missing = {TABLE, *_TRIGGERS} - present
        if not missing or (TABLE in missing and not create):
            return False
        cursor.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5(name, email, "
            "content='contacts_contact', content_rowid='id', tokenize='trigram')"
        )
        for sql in _TRIGGERS.values():
            cursor.execute(sql)
        cursor.execute(f"INSERT INTO {TABLE}({TABLE}) VALUES ('rebuild')")
    return True


def drop_contact_search(connection) -> None:
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for name in _TRIGGERS:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
        cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")


def _phrase(text: str) -> str:
    """The text as one FTS5 phrase: within double quotes, a double quote is written twice."""
    return '"' + text.replace('"', '""') + '"'


def _trigrams_at(text: str) -> list[str | None]:
    """The trigram starting at each position of the text, lower-cased; None where the three
    characters are not all letters or digits (pg_trgm's words, without their padding)."""
    return [
        piece.lower() if _WORD.fullmatch(piece) else None
        for piece in (text[i : i + TRIGRAM] for i in range(len(text) - TRIGRAM + 1))
    ]


def common_trigrams(connection) -> set[str]:
    """The trigrams held by more than COMMON_SHARE of the names or of the emails, by the
    planner's sample of the two indexed columns (most common values with their shares, and
    the histogram's bounds for the rest); none on SQLite, or before the first ANALYZE.

    Kept by each process for STATISTICS_KEPT_SECONDS: the sample changes only when the
    table is analysed, and one request may search several times (a bulk action's count,
    preview and start)."""
    if connection.vendor != "postgresql":
        return set()
    now = time.monotonic()
    kept = _kept_common.get(connection.alias)
    if kept is not None and now - kept[0] < STATISTICS_KEPT_SECONDS:
        return kept[1]
    common = _read_common_trigrams(connection)
    keep_common_trigrams(connection.alias, common)
    return common


def keep_common_trigrams(alias: str, common: set[str]) -> None:
    """Keep these as the common trigrams of that database, as if just read."""
    _kept_common[alias] = (time.monotonic(), common)


def forget_common_trigrams() -> None:
    """Read the statistics again at the next search (after an ANALYZE, say)."""
    _kept_common.clear()


def _read_common_trigrams(connection) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT most_common_vals::text::text[], most_common_freqs, "
            "histogram_bounds::text::text[] FROM pg_stats "
            "WHERE schemaname = current_schema() AND tablename = ANY(%s)",
            [list(TRIGRAM_INDEXES)],
        )
        rows = cursor.fetchall()
    common = set()
    for values, shares, bounds in rows:
        values, shares, bounds = values or [], shares or [], bounds or []
        rest = (1 - sum(shares)) / len(bounds) if bounds else 0
        held = Counter()
        for value, share in [*zip(values, shares, strict=True), *((b, rest) for b in bounds)]:
            for trigram in set(_trigrams_at(value)) - {None}:
                held[trigram] += share
        common |= {trigram for trigram, share in held.items() if share > COMMON_SHARE}
    return common


def index_part(text: str, common: set[str]) -> str:
    """The longest part of the text that holds no common trigram and at least one other:
    what the index is asked for. The text itself when it holds no common trigram, or when
    every part without one holds no trigram at all."""
    if not common:
        return text
    at = _trigrams_at(text)
    common_at = [i for i, trigram in enumerate(at) if trigram in common]
    if not common_at:
        return text
    # Each part runs from just after one common trigram's start to just before the next one's end.
    starts = [0] + [i + 1 for i in common_at]
    ends = [i + TRIGRAM - 1 for i in common_at] + [len(text)]
    parts = [
        (end - start, start, end)
        for start, end in zip(starts, ends, strict=True)
        if any(at[i] is not None for i in range(start, end - TRIGRAM + 1))
    ]
    if not parts:
        return text
    _, start, end = max(parts)
    return text[start:end]


def search_contacts(queryset: QuerySet, text: str) -> QuerySet:
    """The contacts of `queryset` whose name or email contains `text`, in any letter case."""
    matches = Q(name__icontains=text) | Q(email__icontains=text)
    connection = connections[queryset.db]
    part = index_part(text, common_trigrams(connection)) if len(text) > TRIGRAM else text
    if connection.vendor == "sqlite":
        if len(part) >= TRIGRAM:
            candidates = RawSQL(
                f"SELECT rowid FROM {TABLE} WHERE {TABLE} MATCH %s", [_phrase(part)]
            )
            queryset = queryset.filter(pk__in=candidates)
        return queryset.filter(matches)
    if part == text:
        return queryset.filter(matches)
    # The index finds the part; the whole text is checked on what it found.
    found = Q(name__icontains=part) | Q(email__icontains=part)
    wanted = Upper(Value(text))
    holds = Q(GreaterThan(StrIndex(Upper("name"), wanted), 0)) | Q(
        GreaterThan(StrIndex(Upper("email"), wanted), 0)
    )
    return queryset.filter(found & holds)


def search_box(queryset: QuerySet, name: str, value: str) -> QuerySet:
    """The search box of a list of contacts, as a django-filter `method`: the text as
    typed, without its surrounding spaces; a blank one lists every contact."""
    text = value.strip()
    return search_contacts(queryset, text) if text else queryset
