from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate


class ContactsConfig(AppConfig):
    name = "contacts"

    def ready(self):
        # The undo actions register themselves beside the actions they undo.
        from contacts.bulk import access_dates, undo  # noqa: F401
        from contacts.imports import actions  # noqa: F401

        post_migrate.connect(keep_contact_search, sender=self)


def keep_contact_search(*, using, **kwargs):
    from contacts.search import ensure_contact_search

    ensure_contact_search(connections[using], create=False)
