from django.apps import AppConfig


class KajAccessConfig(AppConfig):
    name = "kajaccess"
    verbose_name = "KajAccess"

    def ready(self):
        # The roles' permissions are registered with `rules` as the module loads.
        from kajaccess import roles  # noqa: F401
