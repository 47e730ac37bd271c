"""The Automations tab: list, create, pause, resume and delete a site's automations."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from kajaccess.web import permission_required, render_changed, render_popup
from purchases.automations import services as automations
from purchases.automations.forms import AutomationForm
from purchases.models import Automation


def _page(request, form, status: int = 200):
    context = {
        "rows": automations.site_automations(request.site),
        "form": form,
        "active_tab": "automations",
    }
    return render(request, "purchases/automations/list.html", context, status=status)


@permission_required("kajaccess.manage_automations")
@require_http_methods(["GET", "POST"])
def automation_list(request):
    if request.method == "GET":
        return _page(request, AutomationForm(site=request.site))
    form = AutomationForm(request.POST, site=request.site)
    if form.is_valid():
        try:
            automation = automations.create_automation(site=request.site, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Automation created: {automations.describe(automation)}.")
            return redirect("automations:list")
    return _page(request, form, status=400)


def _automation(request, automation_id: int) -> Automation:
    return get_object_or_404(
        Automation.objects.select_related("trigger_tag", "trigger_offer", "offer"),
        site=request.site,
        pk=automation_id,
    )


def _set_active(request, automation_id: int, active: bool):
    automation = _automation(request, automation_id)
    outcome = automations.set_automation_active(automation=automation, active=active)
    row = automations.AutomationRow(
        automation, automations.when_words(automation), automations.then_words(automation)
    )
    return render_changed(
        request,
        outcome,
        next_url=reverse("automations:list"),
        template="purchases/automations/row.html",
        context={"row": row},
    )


@permission_required("kajaccess.manage_automations", lookup=_automation)
@require_POST
def automation_pause(request, automation_id: int):
    return _set_active(request, automation_id, active=False)


@permission_required("kajaccess.manage_automations", lookup=_automation)
@require_POST
def automation_resume(request, automation_id: int):
    return _set_active(request, automation_id, active=True)


@permission_required("kajaccess.manage_automations", lookup=_automation)
@require_http_methods(["GET", "POST"])
def automation_delete(request, automation_id: int):
    automation = _automation(request, automation_id)
    if request.method == "GET":
        context = {
            "automation": automation,
            "description": automations.describe(automation),
            "action_url": reverse("automations:delete", args=[automation.pk]),
            "back_url": reverse("automations:list"),
        }
        return render_popup(
            request,
            "purchases/automations/delete_form.html",
            context,
            title="Delete automation",
            active_tab="automations",
        )
    outcome = automations.delete_automation(automation=automation)
    return render_changed(
        request,
        outcome,
        next_url=reverse("automations:list"),
        template="purchases/automations/deleted.html",
        context={"automation": automation},
    )
