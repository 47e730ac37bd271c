"""Settings > API keys, under /settings/api-keys/."""

from django.urls import path

from kajaccess.keys import views

app_name = "api_keys"

urlpatterns = [
    path("", views.api_keys, name="list"),
    path("<slug:prefix>/revoke/", views.revoke, name="revoke"),
    path("<slug:prefix>/rotate/", views.rotate, name="rotate"),
]
