"""Indexes for the Contacts tab's search (see contacts/search.py): trigram GIN indexes on
PostgreSQL, an FTS5 trigram table kept by triggers on SQLite."""

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations
from django.db.models.functions import Upper

from contacts.search import drop_contact_search, ensure_contact_search


class AddPostgresIndex(migrations.AddIndex):
    """An index only PostgreSQL has, kept out of the models' state on purpose.

    In the state, SQLite would try to build it (USING gin) whenever it rebuilds the
    contacts table for a later schema change.
    """

    def state_forwards(self, app_label, state):
        pass

    def state_backwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            model = from_state.apps.get_model(app_label, self.model_name)
            schema_editor.remove_index(model, self.index)

    def describe(self):
        return f"{super().describe()} (PostgreSQL only)"


class PostgresTrigramExtension(TrigramExtension):
    """pg_trgm on PostgreSQL; elsewhere nothing, undoing it included (Django's own looks for
    the extension in pg_extension whatever the database)."""

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def sqlite_search_table(apps, schema_editor):
    ensure_contact_search(schema_editor.connection)


def drop_sqlite_search_table(apps, schema_editor):
    drop_contact_search(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ("contacts", "0005_access_facts"),
    ]

    operations = [
        PostgresTrigramExtension(),
        AddPostgresIndex(
            model_name="contact",
            index=GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="contact_name_trgm"),
        ),
        AddPostgresIndex(
            model_name="contact",
            index=GinIndex(
                OpClass(Upper("email"), name="gin_trgm_ops"), name="contact_email_trgm"
            ),
        ),
        migrations.RunPython(sqlite_search_table, drop_sqlite_search_table),
    ]
