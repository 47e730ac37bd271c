"""Settings > Webhooks, under /settings/webhooks/."""

from django.urls import path

from purchases.webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("", views.endpoints, name="list"),
    path("<int:endpoint_id>/", views.detail, name="detail"),
    path("<int:endpoint_id>/delete/", views.delete, name="delete"),
    path("<int:endpoint_id>/enable/", views.enable, name="enable"),
    path("<int:endpoint_id>/deliveries/<int:delivery_id>/resend/", views.resend, name="resend"),
]
