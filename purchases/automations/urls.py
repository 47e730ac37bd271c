"""The Automations tab."""

from django.urls import path

from purchases.automations import views

app_name = "automations"

AUTOMATION = "automations/<int:automation_id>/"

urlpatterns = [
    path("automations/", views.automation_list, name="list"),
    path(f"{AUTOMATION}pause/", views.automation_pause, name="pause"),
    path(f"{AUTOMATION}resume/", views.automation_resume, name="resume"),
    path(f"{AUTOMATION}delete/", views.automation_delete, name="delete"),
]
