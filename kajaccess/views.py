from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.timesince import timeuntil
from django.views.decorators.http import require_POST

from kajaccess.middleware import CURRENT_SITE_SESSION_KEY
from kajaccess.web import member_required, render_popup, wants_partial

from .sign_in import SignInForm


def permission_denied(request, exception=None):
    """A refusal in the product's words; asked for from a popup, it shows in the popup."""
    message = str(exception) if exception else ""
    if wants_partial(request):
        context = {
            "errors": [message or "Your role cannot do this."],
            "back_url": request.htmx.current_url_abs_path or "/",
            "title": "Your role does not allow this",
        }
        return render_popup(
            request,
            "partials/refusal.html",
            context,
            title=context["title"],
            active_tab="",
            status=403,
        )
    return render(request, "403.html", {"exception": message}, status=403)


@login_required
def home(request):
    """Members go to the Contacts tab, customers to their Library, support to the admin."""
    if request.site is not None:
        return redirect("contacts:list")
    if request.user.is_staff:
        return redirect("admin:index")
    return redirect("library:index")


class SignInView(auth_views.LoginView):
    """Sign in with an email address; repeated failures are refused (kajaccess.sign_in)."""

    template_name = "registration/login.html"
    form_class = SignInForm
    redirect_authenticated_user = True


@member_required
@require_POST
def switch_site(request):
    """Work on another of one's sites; it stays the current site until the next switch.

    A site one is not an active member of is a 404, whether or not it exists.
    """
    wanted = request.POST.get("site", "")
    if not wanted:
        return render(request, "400.html", {"problem": "Choose a site to switch to."}, status=400)
    membership = next((m for m in request.memberships if str(m.site_id) == wanted), None)
    if membership is None:
        raise Http404("You are not on the team of that site.")
    request.session[CURRENT_SITE_SESSION_KEY] = membership.site_id
    messages.success(request, f"You are now working on {membership.site.name}.")
    return redirect("home")


# --- Passwords -------------------------------------------------------------------------


class RefusedFormMixin:
    """A form sent back with errors answers 400, like every refused input here."""

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)


class OneTimeLinkMixin(RefusedFormMixin):
    """A link that is spent, expired or made up answers 404 with a page that says so."""

    def render_to_response(self, context, **response_kwargs):
        if not getattr(self, "validlink", True):
            response_kwargs["status"] = 404
        return super().render_to_response(context, **response_kwargs)


def reset_link_lifetime() -> str:
    """How long a password reset link works, in words: "1 day"."""
    now = timezone.now()
    return timeuntil(now + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT), now)


class PasswordResetView(RefusedFormMixin, auth_views.PasswordResetView):
    """Forgot your password: the same answer whether or not the email has an account."""

    template_name = "registration/password_reset_form.html"
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"

    def form_valid(self, form):
        self.extra_email_context = {"valid_for": reset_link_lifetime()}
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "valid_for": reset_link_lifetime()}


class PasswordResetConfirmView(OneTimeLinkMixin, auth_views.PasswordResetConfirmView):
    """The link in a reset email: choose a new password, and be signed in."""

    post_reset_login = True
    post_reset_login_backend = "kajaccess.backends.EmailBackend"
    success_url = reverse_lazy("password_reset_complete")


class PasswordChangeView(RefusedFormMixin, auth_views.PasswordChangeView):
    """Change password, from the user menu: the current one first, then the new one twice."""
