from django.urls import path

from products.views import library as library_views

app_name = "library"

urlpatterns = [
    path("", library_views.index, name="index"),
    path("<int:product_id>/", library_views.product, name="product"),
    path(
        "<int:product_id>/lessons/<int:lesson_id>/",
        library_views.lesson,
        name="lesson",
    ),
    path(
        "<int:product_id>/lessons/<int:lesson_id>/complete/",
        library_views.complete,
        name="complete",
    ),
]
