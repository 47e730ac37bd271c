from django.apps import AppConfig


class KajAccessConfig(AppConfig):
    name = "kajaccess"
    verbose_name = "KajAccess"

    def ready(self):
        # Registered as the modules load: the roles' permissions with `rules`, and
        # the `field__any=ids` lookup (kajaccess/lookups.py).
        from kajaccess import lookups, roles  # noqa: F401
