from django.apps import AppConfig


class PurchasesConfig(AppConfig):
    name = "purchases"

    def ready(self):
        # Automations listen to the signals of the access, billing and tag services.
        from purchases.access import (
            events,  # noqa: F401  (the audit of contacts' changes)
            facts,  # noqa: F401  (progress into the access facts)
        )
        from purchases.automations import runner  # noqa: F401
