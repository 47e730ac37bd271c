from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from kajaccess.team.views import AcceptInvitationView

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.SignInView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "accounts/password/reset/sent/",
        views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("accounts/password/change/", views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path(
        "accounts/invitation/<uidb64>/<token>/",
        AcceptInvitationView.as_view(),
        name="accept_invitation",
    ),
    path("settings/site/", views.switch_site, name="switch_site"),
    path("settings/team/", include("kajaccess.team.urls")),
    path("settings/api-keys/", include("kajaccess.keys.urls")),
    path("settings/webhooks/", include("purchases.webhooks.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("kajaccess.api.urls")),
    path("", include("contacts.bulk.urls")),
    path("contacts/", include("contacts.urls")),
    path("library/", include("products.library_urls")),
    path("", include("products.urls")),
    path("", include("purchases.urls")),
    path("", include("purchases.billing.urls")),
    path("", include("purchases.automations.urls")),
]

handler403 = "kajaccess.views.permission_denied"
handler400 = "kajaccess.views.bad_request"
handler404 = "kajaccess.views.page_not_found"
handler500 = "kajaccess.views.server_error"
