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
"""

from django.db import connections
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

TABLE = "contact_search"
TRIGRAM = 3

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


def search_contacts(queryset: QuerySet, text: str) -> QuerySet:
    """The contacts of `queryset` whose name or email contains `text`, in any letter case."""
    matches = Q(name__icontains=text) | Q(email__icontains=text)
    if connections[queryset.db].vendor == "sqlite" and len(text) >= TRIGRAM:
        candidates = RawSQL(f"SELECT rowid FROM {TABLE} WHERE {TABLE} MATCH %s", [_phrase(text)])
        queryset = queryset.filter(pk__in=candidates)
    return queryset.filter(matches)
