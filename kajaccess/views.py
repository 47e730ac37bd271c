import hashlib

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.shortcuts import redirect, render

SIGN_IN_ATTEMPTS = 5
SIGN_IN_LOCKOUT_SECONDS = 15 * 60


@login_required
def home(request):
    """Members go to the Contacts tab, customers to their Library, support to the admin."""
    if request.site is not None:
        return redirect("contacts:list")
    if request.user.is_staff:
        return redirect("admin:index")
    return redirect("library:index")


class SignInView(auth_views.LoginView):
    """Sign in with an email address; repeated failures from one address are throttled."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def _keys(self) -> list[str]:
        ip = self.request.META.get("REMOTE_ADDR", "")
        email = self.request.POST.get("username", "").strip().lower()[:254]
        # Hashed: a cache key must be short and printable, whatever was typed.
        email_key = hashlib.sha256(email.encode()).hexdigest()
        return [f"sign-in-failures:ip:{ip}", f"sign-in-failures:email:{email_key}"]

    def _throttled(self) -> bool:
        return any(cache.get(key, 0) >= SIGN_IN_ATTEMPTS for key in self._keys())

    def post(self, request, *args, **kwargs):
        if self._throttled():
            response = render(
                request,
                self.template_name,
                {"form": self.get_form(), "throttled": True},
                status=429,
            )
            response["Retry-After"] = str(SIGN_IN_LOCKOUT_SECONDS)
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        for key in self._keys():
            cache.add(key, 0, SIGN_IN_LOCKOUT_SECONDS)
            try:
                cache.incr(key)
            except ValueError:
                cache.set(key, 1, SIGN_IN_LOCKOUT_SECONDS)
        return super().form_invalid(form)

    def form_valid(self, form):
        cache.delete_many(self._keys())
        return super().form_valid(form)
