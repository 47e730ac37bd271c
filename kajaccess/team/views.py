"""Settings > Team, for the owner and administrators of a site; and the page where an
invited member sets their password.

Suspending, removing and transferring ownership ask for confirmation in a popup (a page
of its own without JavaScript); after any change the members' table refreshes itself on
the `teamChanged` event.
"""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.http import require_http_methods, require_POST

from kajaccess.models import SiteMembership
from kajaccess.outcomes import Outcome
from kajaccess.team import selectors, services
from kajaccess.team.forms import AddMemberForm, RoleForm, TransferOwnershipForm
from kajaccess.team.permissions import owner_only, team_managers_only
from kajaccess.team.tokens import invitation_tokens
from kajaccess.views import OneTimeLinkMixin
from kajaccess.web import member_actor, render_changed, render_popup, wants_partial

ACTIVE_TAB = "settings"


def _site_url(request) -> str:
    return request.build_absolute_uri("/")


def _members_context(request) -> dict:
    return {
        "members": selectors.team_members(
            site=request.site, viewer_site_ids=[m.site_id for m in request.memberships]
        ),
        "role_choices": services.assignable_roles(),
        "viewer_is_owner": request.membership.role == SiteMembership.Role.OWNER,
        "active_tab": ACTIVE_TAB,
    }


def _page(request, form, status: int = 200):
    context = {**_members_context(request), "form": form}
    return render(request, "team/list.html", context, status=status)


@team_managers_only
@require_http_methods(["GET", "POST"])
def team(request):
    if request.method == "GET":
        if wants_partial(request):
            return render(request, "team/partials/members.html", _members_context(request))
        return _page(request, AddMemberForm())
    form = AddMemberForm(request.POST)
    if form.is_valid():
        try:
            outcome = services.add_member(
                site=request.site,
                email=form.cleaned_data["email"],
                name=form.cleaned_data["name"],
                role=form.cleaned_data["role"],
                actor=member_actor(request),
                site_url=_site_url(request),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            level = messages.SUCCESS if outcome.changed else messages.INFO
            messages.add_message(request, level, outcome.message)
            return redirect("team:list")
    return _page(request, form, status=400)


def _member(request, member_id: int) -> SiteMembership:
    return get_object_or_404(
        SiteMembership.objects.select_related("user", "site"), site=request.site, pk=member_id
    )


def _changed(request, outcome: Outcome):
    return render_changed(
        request, outcome, next_url=reverse("team:list"), events={"teamChanged": {}}
    )


def _refused(request, error: ValidationError):
    """A change that cannot be made: say why, change nothing, answer 400."""
    for message in error.messages:
        messages.error(request, message)
    if wants_partial(request):
        return render(request, "partials/changed.html", {}, status=400)
    return _page(request, AddMemberForm(), status=400)


@team_managers_only
@require_POST
def change_role(request, member_id: int):
    membership = _member(request, member_id)
    form = RoleForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(form.errors["role"])
        outcome = services.change_role(
            membership=membership,
            role=form.cleaned_data["role"],
            actor=member_actor(request),
        )
    except ValidationError as error:
        return _refused(request, error)
    return _changed(request, outcome)


@team_managers_only
@require_POST
def reactivate(request, member_id: int):
    membership = _member(request, member_id)
    try:
        outcome = services.reactivate_member(membership=membership, actor=member_actor(request))
    except ValidationError as error:
        return _refused(request, error)
    return _changed(request, outcome)


@team_managers_only
@require_POST
def resend_invitation(request, member_id: int):
    membership = _member(request, member_id)
    try:
        outcome = services.resend_invitation(
            membership=membership, actor=member_actor(request), site_url=_site_url(request)
        )
    except ValidationError as error:
        return _refused(request, error)
    return _changed(request, outcome)


# --- Changes confirmed in a popup ------------------------------------------------------

POPUPS = {
    "suspend": ("team/partials/suspend_form.html", "Suspend member"),
    "remove": ("team/partials/remove_form.html", "Remove member"),
    "transfer": ("team/partials/transfer_form.html", "Transfer ownership"),
}


def _popup(request, verb: str, membership, *, form=None, errors=(), status: int = 200):
    template, title = POPUPS[verb]
    context = {
        "member": membership,
        "site": request.site,
        "form": form,
        "errors": list(errors),
        "action_url": reverse(f"team:{verb}", args=[membership.pk]),
        "back_url": reverse("team:list"),
    }
    return render_popup(
        request, template, context, title=title, active_tab=ACTIVE_TAB, status=status
    )


def _confirmed(request, verb: str, member_id: int, change):
    membership = _member(request, member_id)
    if request.method == "GET":
        return _popup(request, verb, membership)
    try:
        outcome = change(membership=membership, actor=member_actor(request))
    except ValidationError as error:
        return _popup(request, verb, membership, errors=error.messages, status=400)
    return _changed(request, outcome)


@team_managers_only
@require_http_methods(["GET", "POST"])
def suspend(request, member_id: int):
    return _confirmed(request, "suspend", member_id, services.suspend_member)


@team_managers_only
@require_http_methods(["GET", "POST"])
def remove(request, member_id: int):
    return _confirmed(request, "remove", member_id, services.remove_member)


@owner_only
@require_http_methods(["GET", "POST"])
def transfer(request, member_id: int):
    membership = _member(request, member_id)
    if request.method == "GET":
        return _popup(request, "transfer", membership, form=TransferOwnershipForm())
    form = TransferOwnershipForm(request.POST)
    if form.is_valid():
        try:
            outcome = services.transfer_ownership(
                membership=membership,
                actor=member_actor(request),
                password=form.cleaned_data["password"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return _changed(request, outcome)
    return _popup(request, "transfer", membership, form=form, status=400)


# --- Joining a team --------------------------------------------------------------------


class AcceptInvitationView(OneTimeLinkMixin, auth_views.PasswordResetConfirmView):
    """The link in an invitation: set a password, and be signed in."""

    token_generator = invitation_tokens
    template_name = "registration/invitation_confirm.html"
    post_reset_login = True
    post_reset_login_backend = "kajaccess.backends.EmailBackend"
    success_url = reverse_lazy("home")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if self.validlink:
            context["invited_email"] = self.user.email
        return context

    def form_valid(self, form):
        response = super().form_valid(form)
        # The same link lets a customer into their Library, who is on no team.
        welcome = "the team" if self.user.memberships.exists() else "your Library"
        messages.success(self.request, f"Your password is set. Welcome to {welcome}.")
        return response
