"""The site's Activity tab: the audit trail of every change."""

from django.urls import path

from purchases import views

app_name = "purchases"

urlpatterns = [
    path("activity/", views.activity, name="activity"),
]
