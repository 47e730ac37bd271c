from django.urls import path

from contacts import views
from contacts.bulk import views as bulk_views

app_name = "contacts"

urlpatterns = [
    path("", views.contact_list, name="list"),
    path("<int:contact_id>/", views.profile, name="profile"),
    path("<int:contact_id>/preview/", views.preview, name="preview"),
    path("<int:contact_id>/products/", views.products, name="products"),
    path("<int:contact_id>/products/<int:product_id>/", views.more_info, name="more_info"),
    path("<int:contact_id>/purchases/", views.purchases, name="purchases"),
    path("<int:contact_id>/activity/", views.activity, name="activity"),
    path("bulk/", bulk_views.bulk_preview, name="bulk_preview"),
    path("bulk/start/", bulk_views.bulk_start, name="bulk_start"),
    path("bulk/export/", bulk_views.bulk_export, name="bulk_export"),
]
