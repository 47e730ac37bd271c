from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponseServerError
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.timesince import timeuntil
from django.views.decorators.http import require_POST
from django_htmx.http import reselect, reswap, retarget

from kajaccess.api import problems
from kajaccess.middleware import CURRENT_SITE_SESSION_KEY
from kajaccess.web import NotFound, member_required, render_popup, wants_partial, way_back

from .sign_in import SignInForm

# --- Error pages ------------------------------------------------------------------------

NOT_FOUND = "It may have been moved, or you may not have access to it."
NOT_ALLOWED = "Your role cannot do this. Ask the site's owner or an administrator."
BAD_REQUEST = "Something in it could not be read. Go back and try again."
# The largest form is a pasted list of emails; nothing else comes near the bound.
TOO_BIG = (
    "It held more than one request may: nothing was changed. Paste at most 100,000 emails "
    "at a time, in several goes if need be."
)
SERVER_ERROR = (
    "KajAccess could not finish that. Reload the page to see where things stand, then try again."
)
STALE_FORM = (
    "The page you sent it from was open too long, or the form did not come from KajAccess. "
    "Reload the page and try again."
)


def _error(request, template: str, *, title: str, message: str, status: int):
    """An error page in the product's words; asked for from a popup or a panel, a popup."""
    back = way_back(request)
    if getattr(request, "htmx", None) and wants_partial(request):
        context = {
            "errors": [message],
            "title": title,
            # The popup's Close goes back to the page it was opened on.
            "back_url": request.htmx.current_url_abs_path or back["back_url"],
        }
        return render_popup(
            request, "partials/refusal.html", context, title=title, active_tab="", status=status
        )
    return render(request, template, {"title": title, "message": message, **back}, status=status)


def bad_request(request, exception=None):
    """A request that could not be read; what Django says about it stays in the log."""
    return _error(
        request,
        "400.html",
        title="Something was wrong with that request",
        message=TOO_BIG if isinstance(exception, RequestDataTooBig) else BAD_REQUEST,
        status=400,
    )


def permission_denied(request, exception=None):
    """A refusal in the product's words; asked for from a popup, it shows in the popup."""
    return _error(
        request,
        "403.html",
        title="Your role does not allow this",
        message=str(exception or "") or NOT_ALLOWED,
        status=403,
    )


def csrf_failure(request, reason=""):
    """A form sent from a page open too long, or from elsewhere: Django's reason stays out."""
    return _error(
        request, "403.html", title="That form has expired", message=STALE_FORM, status=403
    )


def page_not_found(request, exception=None):
    """Nothing here; the product's own reason (NotFound) is shown, Django's never is."""
    if problems.is_api(request):
        return problems.outside_a_view(404, "The API has no such address: see /api/v1/docs/.")
    message = str(exception) if isinstance(exception, NotFound) else ""
    return _error(
        request,
        "404.html",
        title="We couldn't find that",
        message=message or NOT_FOUND,
        status=404,
    )


def server_error(request):
    """Something broke. This page asks nothing of the database, the site or the session.

    Context processors do not run, and the way back leads to the home page, which sends
    each person where they belong once things work again.
    """
    if problems.is_api(request):
        return problems.outside_a_view(500, "Nothing was changed. Try again in a moment.")
    context = {
        "title": "Something went wrong on our side",
        "message": SERVER_ERROR,
        "back_url": "/",
        "back_label": "Go to the home page",
    }
    htmx = request.headers.get("HX-Request") == "true"
    if htmx and request.headers.get("HX-History-Restore-Request") != "true":
        body = render_to_string(
            "partials/dialog.html",
            {
                "content_template": "partials/refusal.html",
                "errors": [SERVER_ERROR],
                "title": context["title"],
                "back_url": "/",
            },
        )
        response = HttpResponseServerError(body)
        return reselect(reswap(retarget(response, "#dialog-slot"), "innerHTML"), "dialog")
    return HttpResponseServerError(render_to_string("500.html", context))


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
        return _error(
            request,
            "400.html",
            title="Choose a site",
            message="Choose a site to switch to.",
            status=400,
        )
    membership = next((m for m in request.memberships if str(m.site_id) == wanted), None)
    if membership is None:
        raise NotFound("You are not on the team of that site.")
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
