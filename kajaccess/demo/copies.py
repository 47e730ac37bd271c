"""More generated customers at table speed: copies of the first ones, histories and all.

Replaying a story through the services costs about a millisecond a customer; a million of
them would take hours. Instead the first block of generated customers (replayed as usual)
is copied whole, one `INSERT ... SELECT` per table and copy: customer 10,001 is customer 1
again under another number, with the same grants, Products' accesses, subscriptions and
payments, lesson completions, tags and audit trail, so the site keeps the shape of the
seed at any size. bulk_create would carry every row through Python and back; the database
copies them itself (on PostgreSQL with the indexes built once afterwards). The rows are written straight into the tables: the access
facts must be recomputed afterwards (`grow_demo_academy` says how).
"""

import os
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.management import call_command, get_commands
from django.core.management.base import CommandError
from django.core.management.color import no_style
from django.db import connection, models, transaction

from contacts.models import Contact, ContactTag
from kajaccess.models import Site
from products.models import LessonCompletion
from purchases.access.facts import COUNTERS, SUBSCRIPTION_BITS
from purchases.models import (
    AccessEvent,
    ContactStateCount,
    Grant,
    OfferHolder,
    Payment,
    ProductAccess,
    ProductHolder,
    ProductWeek,
    Purchase,
    Subscription,
    WeekHolder,
)

# Parents before the rows that point at them; each row belongs to one generated contact
# through the first field named here.
COPIED: list[tuple[type[models.Model], str]] = [
    (Contact, "id"),
    (ContactTag, "contact"),
    (LessonCompletion, "contact"),
    (Grant, "contact"),
    (ProductAccess, "grant"),
    (Purchase, "grant"),
    (Subscription, "grant"),
    (Payment, "subscription"),
    (AccessEvent, "contact"),
    # The access facts of a copy are its original's (its summary is copied with the contact;
    # the counters are added up in copy_block).
    (ProductHolder, "contact"),
    (OfferHolder, "contact"),
    (WeekHolder, "contact"),
]
FIRST = "customer000001@example.com"

Report = Callable[[str], None]


@dataclass
class Block:
    """One table's rows of the first block: its ids run from `low` over `span` numbers."""

    low: int
    span: int
    source: str  # SQL: the ids of the block's rows in this table


def generated_count(site: Site) -> int:
    return Contact.objects.filter(
        site=site, email__startswith="customer", email__endswith="@example.com"
    ).count()


def first_block(site: Site, size: int) -> dict[type[models.Model], Block]:
    """The first `size` generated contacts and everything of theirs, table by table."""
    first = Contact.objects.filter(site=site, email=FIRST).values_list("pk", flat=True).first()
    if first is None:
        raise CommandError("No generated contacts to copy: run `seed_demo --contacts N` first.")
    ids = Contact.objects.filter(
        site=site, pk__gte=first, pk__lt=first + size, email__startswith="customer"
    )
    # Numbers and ids run together in the first block (bulk_create in number order), so
    # that a copy's contact number can be worked out from the id it copies.
    if ids.count() != size or ids.filter(email=f"customer{size:06d}@example.com").count() != 1:
        raise CommandError(
            f"The first {size:,} generated contacts are not numbered like their ids; "
            "seed a fresh database."
        )
    contact_range = f"BETWEEN {first} AND {first + size - 1}"
    blocks = {
        Contact: Block(first, size, f"SELECT id FROM contacts_contact WHERE id {contact_range}")
    }
    with connection.cursor() as cursor:
        for model, owner in COPIED[1:]:
            table = model._meta.db_table
            parent = model._meta.get_field(owner)
            if parent.related_model is Contact:
                where = f"{parent.column} {contact_range}"
            else:
                where = f"{parent.column} IN ({blocks[parent.related_model].source})"
            source = f"SELECT id FROM {table} WHERE {where}"
            cursor.execute(f"SELECT MIN(id), MAX(id) FROM {table} WHERE {where}")
            low, high = cursor.fetchone()
            blocks[model] = Block(low or 0, 0 if low is None else high - low + 1, source)
    return blocks


def moved(column: str, block: Block, offset: int) -> str:
    """SQL: an id of the first block moved to its copy, `offset` ids on."""
    return f"{column} - {block.low} + {offset}"


def contact_email(number_sql: str) -> str:
    if connection.vendor == "postgresql":
        # lpad would cut 1000000 to six digits.
        padded = (
            f"CASE WHEN {number_sql} < 1000000 THEN lpad(CAST({number_sql} AS text), 6, '0') "
            f"ELSE CAST({number_sql} AS text) END"
        )
    else:
        padded = f"printf('%06d', {number_sql})"
    return f"'customer' || {padded} || '@example.com'"


def copy_block(blocks: dict[type[models.Model], Block], copy: int, size: int) -> None:
    """Copy number `copy` (1 for customers size+1 .. 2*size, and on) of the first block."""
    offsets = {}
    with connection.cursor() as cursor:
        for model, _owner in COPIED:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {model._meta.db_table}")
            offsets[model] = cursor.fetchone()[0]
        contacts = blocks[Contact]
        for model, _owner in COPIED:
            block = blocks[model]
            if block.span <= 0:
                continue
            columns, values = [], []
            for field in model._meta.local_concrete_fields:
                columns.append(connection.ops.quote_name(field.column))
                column = connection.ops.quote_name(field.column)
                if field.primary_key:
                    values.append(moved(column, block, offsets[model]))
                elif field.is_relation and field.related_model in blocks:
                    values.append(
                        moved(column, blocks[field.related_model], offsets[field.related_model])
                    )
                elif model is Contact and field.name == "email":
                    values.append(contact_email(f"(id - {contacts.low} + 1 + {copy * size})"))
                else:
                    values.append(column)
            cursor.execute(
                f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "
                f"SELECT {', '.join(values)} FROM {kept(model)}"
            )
        # The copies' holders counted as their originals' are: one row of change for each
        # Product (Offer), state and progress, as the access services write them.
        for holder, counter, key in COUNTERS:
            columns = ", ".join(key)
            cursor.execute(
                f"INSERT INTO {counter._meta.db_table} ({columns}, holders) "
                f"SELECT {columns}, COUNT(*) FROM {kept(holder)} GROUP BY {columns}"
            )
        cursor.execute(
            f"INSERT INTO {ProductWeek._meta.db_table} (product_id, week, granted, revoked) "
            f"SELECT product_id, week, SUM(granted), SUM(revoked) FROM {kept(WeekHolder)} "
            "GROUP BY product_id, week"
        )
        # And their sites' state counters, as their summaries put them.
        states = [
            ("has_access", "products_count > 0", []),
            ("revoked", "has_revoked_access = %s", [True]),
        ]
        states += [
            (f"billing_{s}", f"(subscription_states & {bit}) <> 0", [])
            for s, bit in SUBSCRIPTION_BITS.items()
        ]
        for state, test, params in states:
            cursor.execute(
                f"INSERT INTO {ContactStateCount._meta.db_table} (site_id, state, contacts) "
                f"SELECT site_id, %s, COUNT(*) FROM {kept(Contact)} WHERE {test} GROUP BY site_id",
                [state, *params],
            )


def grow_demo_academy(*, site: Site, contacts: int, block: int, report: Report) -> int:
    """Copy the first `block` generated contacts until the site has `contacts` generated ones
    (a multiple of `block`); returns how many were added. It is one transaction: a run that
    is stopped leaves the site as it was.
    """
    have = generated_count(site)
    if contacts <= have:
        return 0
    if have < block or have % block or contacts % block:
        raise CommandError(
            f"Growing by copies needs whole blocks of {block:,} contacts "
            f"(the site has {have:,}, {contacts:,} asked)."
        )
    blocks = first_block(site, block)
    started = time.monotonic()
    with transaction.atomic(), indexes_rebuilt_after([m for m, _ in COPIED], report):
        with connection.cursor() as cursor:
            # The first block is kept aside once, so that no copy looks it up among the
            # copies before it (without their indexes, each lookup would read them all).
            for model, _owner in COPIED:
                cursor.execute(f"DROP TABLE IF EXISTS {kept(model)}")
                cursor.execute(
                    f"CREATE TEMPORARY TABLE {kept(model)} AS SELECT * FROM "
                    f"{model._meta.db_table} WHERE id IN ({blocks[model].source})"
                )
        for copy in range(have // block, contacts // block):
            copy_block(blocks, copy, block)
            done = (copy + 1) * block
            if done % (10 * block) == 0 or done == contacts:
                report(f"  {done:,} contacts copied ({time.monotonic() - started:.0f} s)")
        with connection.cursor() as cursor:
            for model, _owner in COPIED:
                cursor.execute(f"DROP TABLE {kept(model)}")
            # Explicit ids leave PostgreSQL's sequences behind; SQLite keeps up by itself.
            for statement in connection.ops.sequence_reset_sql(no_style(), [m for m, _ in COPIED]):
                cursor.execute(statement)
    settle_tables()
    return contacts - have


def settle_tables() -> None:
    """Bring the tables to where a running site's are, after rows were written in bulk:
    fresh statistics for the planner and, on PostgreSQL, VACUUM. Written pages are not yet
    marked all-visible, so until a VACUUM marks them every index-only scan reads the table
    as well; new entries of a GIN index wait in its pending list, which every search reads."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            cursor.execute("VACUUM (ANALYZE)")
        else:
            cursor.execute("ANALYZE")


def kept(model: type[models.Model]) -> str:
    """The temporary table holding the first block's rows of this model."""
    return f"first_block_{model._meta.db_table}"


@contextmanager
def indexes_rebuilt_after(tables: list[type[models.Model]], report: Report):
    """On PostgreSQL, the copied tables' indexes are dropped while the rows go in and built
    again afterwards, in the same transaction: sorting the rows once is about three times
    faster than a dozen indexes updated row by row. Primary keys stay; a unique index
    built again checks its rows. SQLite keeps its indexes."""
    if connection.vendor != "postgresql":
        yield
        return
    names = [model._meta.db_table for model in tables]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = ANY(%s) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
            [names],
        )
        dropped = cursor.fetchall()
        for name, _definition in dropped:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if cursor.fetchone()[0]:
            # No foreign key checks either: a copied row points at a copy made in the same
            # transaction or at what its original points at, so each check would hold, and
            # the checks cost more than the copies (25 million of them at a million contacts).
            cursor.execute("SET LOCAL session_replication_role = replica")
    yield
    started = time.monotonic()
    with connection.cursor() as cursor:
        # Otherwise the foreign keys are checked at commit; an index is not built over rows
        # whose checks are still to come, so they are checked now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for _name, definition in dropped:
            cursor.execute(definition)
    report(f"  {len(dropped)} indexes built again ({time.monotonic() - started:.0f} s)")


def refresh_all_access_facts() -> str:
    """Recompute the access facts of every contact once, after rows were copied in; says what
    was done."""
    # The facts (issue 16) are built beside this; until `reconcile_access_facts` exists the
    # copies have no facts to keep.
    if "reconcile_access_facts" not in get_commands():
        return "no access facts to recompute: reconcile_access_facts does not exist yet"
    started = time.monotonic()
    call_command("reconcile_access_facts", fix=True, stdout=open(os.devnull, "w"))
    return f"access facts recomputed in {time.monotonic() - started:.1f} s"
