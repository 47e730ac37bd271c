"""Settings > Team, under /settings/team/."""

from django.urls import path

from kajaccess.team import views

app_name = "team"

urlpatterns = [
    path("", views.team, name="list"),
    path("<int:member_id>/role/", views.change_role, name="role"),
    path("<int:member_id>/suspend/", views.suspend, name="suspend"),
    path("<int:member_id>/reactivate/", views.reactivate, name="reactivate"),
    path("<int:member_id>/remove/", views.remove, name="remove"),
    path("<int:member_id>/transfer/", views.transfer, name="transfer"),
    path("<int:member_id>/invitation/", views.resend_invitation, name="resend_invitation"),
]
