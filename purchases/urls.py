from django.urls import include, path

app_name = "purchases"

urlpatterns = []

# Subscriptions (cancel, pause, resume) and the Automations tab.
urlpatterns += [path("", include("purchases.billing_urls"))]
