from django.urls import path

from products.views import library

app_name = "library"

urlpatterns = [
    path("", library.index, name="index"),
    path("<int:product_id>/", library.product, name="product"),
    path(
        "<int:product_id>/lessons/<int:lesson_id>/",
        library.lesson,
        name="lesson",
    ),
    path(
        "<int:product_id>/lessons/<int:lesson_id>/complete/",
        library.complete,
        name="complete",
    ),
]
