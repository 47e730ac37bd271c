"""Bulk actions: started from the Contacts tab, followed and undone on the Bulk actions tab."""

from django.urls import path

from contacts.bulk import views

app_name = "bulk"

urlpatterns = [
    path("contacts/bulk/", views.bulk_preview, name="preview"),
    path("contacts/bulk/start/", views.bulk_start, name="start"),
    path("contacts/bulk/export/", views.bulk_export, name="export"),
    path("contacts/bulk/paste/", views.paste_emails, name="paste"),
    path(
        "contacts/bulk/paste/<int:pasted_id>/not-found.csv",
        views.pasted_not_found,
        name="pasted_not_found",
    ),
    path("bulk-actions/", views.history, name="history"),
    path("bulk-actions/<int:bulk_id>/", views.bulk_action, name="detail"),
    path("bulk-actions/<int:bulk_id>/undo/confirm/", views.undo_confirm, name="undo_confirm"),
    path("bulk-actions/<int:bulk_id>/undo/", views.undo, name="undo"),
]
