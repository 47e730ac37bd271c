from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.SignInView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("contacts.bulk.urls")),
    path("contacts/", include("contacts.urls")),
    path("library/", include("products.library_urls")),
    path("", include("products.urls")),
    path("", include("purchases.urls")),
    path("", include("purchases.billing.urls")),
    path("", include("purchases.automations.urls")),
]
