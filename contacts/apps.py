from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "contacts"

    def ready(self):
        # The undo actions register themselves beside the actions they undo.
        from contacts.bulk import access_dates, undo  # noqa: F401
        from contacts.imports import actions  # noqa: F401
