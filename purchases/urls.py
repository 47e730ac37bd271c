from django.urls import include, path

from contacts.bulk import views as bulk_views
from purchases import views

app_name = "purchases"

GRANT = "contacts/<int:contact_id>/grants/<int:grant_id>/"
GRANT_PRODUCT = GRANT + "products/<int:product_id>/"

urlpatterns = [
    path("activity/", views.activity, name="activity"),
    path(
        "contacts/<int:contact_id>/grant-offer/choose/",
        views.grant_offer_form,
        name="grant_offer_form",
    ),
    path("contacts/<int:contact_id>/grant-offer/", views.grant_offer, name="grant_offer"),
]

for verb in ("revoke", "restore"):
    urlpatterns += [
        path(
            f"{GRANT}{verb}/confirm/",
            views.confirm_access_change,
            {"verb": verb},
            name=f"{verb}_confirm",
        ),
        path(f"{GRANT}{verb}/", views.change_access, {"verb": verb}, name=verb),
        path(
            f"{GRANT_PRODUCT}{verb}/confirm/",
            views.confirm_access_change,
            {"verb": verb},
            name=f"{verb}_product_confirm",
        ),
        path(
            f"{GRANT_PRODUCT}{verb}/", views.change_access, {"verb": verb}, name=f"{verb}_product"
        ),
    ]

# Subscriptions (cancel, pause, resume) and the Automations tab.
urlpatterns += [path("", include("purchases.billing_urls"))]

# The "Bulk actions" tab: a BulkAction's page, the history and Undo (started from Contacts).
urlpatterns += [
    path("bulk-actions/", bulk_views.history, name="bulk_actions"),
    path("bulk-actions/<int:bulk_id>/", bulk_views.bulk_action, name="bulk_action"),
    path(
        "bulk-actions/<int:bulk_id>/undo/confirm/",
        bulk_views.undo_confirm,
        name="bulk_undo_confirm",
    ),
    path("bulk-actions/<int:bulk_id>/undo/", bulk_views.undo, name="bulk_undo"),
]
