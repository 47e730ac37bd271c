from django.urls import path

from products.views import offers as views
from products.views import products as views_products

app_name = "products"

urlpatterns = [
    path("products/", views_products.product_list, name="list"),
    path("products/<int:product_id>/progress/", views_products.product_progress, name="progress"),
    path(
        "products/<int:product_id>/progress/export/",
        views_products.product_progress_csv,
        name="progress_csv",
    ),
    path("offers/", views.offer_list, name="offers"),
    path("offers/new/", views.offer_create, name="offer_create"),
    path("offers/<int:offer_id>/edit/", views.offer_edit, name="offer_edit"),
    path("offers/<int:offer_id>/changes/", views.offer_impact, name="offer_changes"),
    path("offers/<int:offer_id>/delete/", views.offer_delete, name="offer_delete"),
    path("offers/<int:offer_id>/restore/", views.offer_restore, name="offer_restore"),
]
