from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect

from .sign_in import SignInForm


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
