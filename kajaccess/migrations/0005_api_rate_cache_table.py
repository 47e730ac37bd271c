"""The table of the API's shared cache (settings.CACHES["api"]): rate counts, idempotency.

Made by a migration so that every `migrate` makes it, wherever the app runs.
"""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [("kajaccess", "0004_api_keys")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
