from django.apps import AppConfig


class KajAccessConfig(AppConfig):
    name = "kajaccess"
    verbose_name = "KajAccess"
