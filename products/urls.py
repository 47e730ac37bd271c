from django.urls import path

from products.views import offers, products

app_name = "products"

urlpatterns = [
    path("products/", products.product_list, name="list"),
    path("products/<int:product_id>/progress/", products.product_progress, name="progress"),
    path(
        "products/<int:product_id>/progress/export/",
        products.product_progress_csv,
        name="progress_csv",
    ),
    path("offers/", offers.offer_list, name="offers"),
    path("offers/new/", offers.offer_create, name="offer_create"),
    path("offers/<int:offer_id>/edit/", offers.offer_edit, name="offer_edit"),
    path("offers/<int:offer_id>/changes/", offers.offer_impact, name="offer_changes"),
    path("offers/<int:offer_id>/delete/", offers.offer_delete, name="offer_delete"),
    path("offers/<int:offer_id>/restore/", offers.offer_restore, name="offer_restore"),
]
