"""Billing and automation pages; included by purchases.urls, so in its namespace."""

from django.urls import path

from purchases.automations import views as automation_views
from purchases.billing import views as billing_views

SUBSCRIPTION = "subscriptions/<int:subscription_id>/"
AUTOMATION = "automations/<int:automation_id>/"

urlpatterns = [
    path(SUBSCRIPTION, billing_views.subscription_page, name="subscription"),
    path(f"{SUBSCRIPTION}cancel/", billing_views.cancel_payments, name="subscription_cancel"),
    path(
        f"{SUBSCRIPTION}stop-cancellation/",
        billing_views.stop_cancellation,
        name="subscription_stop_cancellation",
    ),
    path(f"{SUBSCRIPTION}pause/", billing_views.pause_payments, name="subscription_pause"),
    path(f"{SUBSCRIPTION}resume/", billing_views.resume_payments, name="subscription_resume"),
    path("automations/", automation_views.automation_list, name="automations"),
    path(f"{AUTOMATION}pause/", automation_views.automation_pause, name="automation_pause"),
    path(f"{AUTOMATION}resume/", automation_views.automation_resume, name="automation_resume"),
    path(f"{AUTOMATION}delete/", automation_views.automation_delete, name="automation_delete"),
]
