"""A subscription or payment plan: its page, and cancelling, pausing and resuming it."""

from django.urls import path

from purchases.billing import views

app_name = "billing"

SUBSCRIPTION = "subscriptions/<int:subscription_id>/"

urlpatterns = [
    path(SUBSCRIPTION, views.subscription_page, name="subscription"),
    path(f"{SUBSCRIPTION}cancel/", views.cancel_payments, name="cancel"),
    path(f"{SUBSCRIPTION}stop-cancellation/", views.stop_cancellation, name="stop_cancellation"),
    path(f"{SUBSCRIPTION}pause/", views.pause_payments, name="pause"),
    path(f"{SUBSCRIPTION}resume/", views.resume_payments, name="resume"),
]
