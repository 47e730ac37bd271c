"""/api/v1/: the endpoints, the OpenAPI schema and its Swagger UI."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from kajaccess.api import views

app_name = "api"

urlpatterns = [
    path("contacts/", views.ContactList.as_view(), name="contacts"),
    path("contacts/by-email/<str:email>/", views.ContactByEmail.as_view(), name="contact_by_email"),
    path("contacts/<str:contact_id>/", views.ContactDetail.as_view(), name="contact"),
    path("contacts/<str:contact_id>/access/", views.ContactAccess.as_view(), name="contact_access"),
    path("contacts/<str:contact_id>/grants/", views.ContactGrants.as_view(), name="contact_grants"),
    path("contacts/<str:contact_id>/tags/", views.ContactTags.as_view(), name="contact_tags"),
    path(
        "contacts/<str:contact_id>/tags/<str:name>/",
        views.ContactTag.as_view(),
        name="contact_tag",
    ),
    path("grants/<str:grant_id>/", views.GrantDetail.as_view(), name="grant"),
    path("grants/<str:grant_id>/revoke/", views.GrantRevoke.as_view(), name="grant_revoke"),
    path("grants/<str:grant_id>/restore/", views.GrantRestore.as_view(), name="grant_restore"),
    path(
        "grants/<str:grant_id>/products/<str:product_id>/revoke/",
        views.GrantProductRevoke.as_view(),
        name="grant_product_revoke",
    ),
    path(
        "grants/<str:grant_id>/products/<str:product_id>/restore/",
        views.GrantProductRestore.as_view(),
        name="grant_product_restore",
    ),
    path("offers/", views.OfferList.as_view(), name="offers"),
    path("products/", views.ProductList.as_view(), name="products"),
    path("bulk-actions/", views.BulkActionList.as_view(), name="bulk_actions"),
    path("bulk-actions/<str:bulk_id>/", views.BulkActionDetail.as_view(), name="bulk_action"),
    path(
        "bulk-actions/<str:bulk_id>/undo/",
        views.BulkActionUndo.as_view(),
        name="bulk_action_undo",
    ),
    path("events/", views.EventList.as_view(), name="events"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
]
