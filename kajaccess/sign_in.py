"""Signing in, with django-axes counting failed attempts per email and client address.

Both sign-in pages, the dashboard's and the admin's, use these forms; axes refuses an
email from an address after AXES_FAILURE_LIMIT failures in AXES_COOLOFF_TIME, even with
the right password, and `refused` says so on the sign-in page itself.
"""

import hashlib
import ipaddress
from contextlib import contextmanager

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from kajaccess.web import too_many_requests


def attempt_username(request, credentials: dict | None) -> str:
    """What axes counts failures against: the email as typed, in any letter case.

    After a sign-in the typed email is still in the form, so a success clears the
    failures of the very email that failed; the user's own username may differ.
    """
    typed = getattr(request, "POST", {}).get("username") or (credentials or {}).get("username")
    return (typed or "").strip().lower()[:254]


def client_address(request) -> str | None:
    """The address a sign-in came from: REMOTE_ADDR, or a trusted proxy's header.

    A client can put anything into X-Forwarded-For; only the hop that the last of
    TRUSTED_PROXY_COUNT trusted proxies appended is theirs to vouch for, so that one is
    taken, and nothing else in the header is ever believed.
    """
    header = settings.TRUSTED_PROXY_HEADER
    if header:
        hops = [hop.strip() for hop in request.META.get(header, "").split(",")]
        if len(hops) >= settings.TRUSTED_PROXY_COUNT:
            try:
                return str(ipaddress.ip_address(hops[-settings.TRUSTED_PROXY_COUNT]))
            except ValueError:
                pass
    return request.META.get("REMOTE_ADDR")


@contextmanager
def _one_attempt_at_a_time(request, username: str):
    """Take the attempts of one email from one address one after another.

    axes checks the count, then checks the password, then records the failure: attempts
    made at the same moment would all pass the check. On PostgreSQL a lock for the
    email and address, held until the failure is recorded, makes each attempt see the
    ones before it. SQLite takes writes one at a time but has no such lock; there,
    concurrent attempts are counted, and may pass the check together.
    """
    if connection.vendor != "postgresql":
        yield
        return
    key = f"sign-in:{attempt_username(request, {'username': username})}:{client_address(request)}"
    # Whatever was typed (a NUL byte, say), the lock's name is text PostgreSQL takes.
    key = hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])
        yield


class _CountedSignIn:
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # One signs in with an email; the User model's field behind it is named username.
        self.fields["username"].label = "Email"
        self.fields["username"].widget.input_type = "email"

    def clean(self):
        with _one_attempt_at_a_time(self.request, self.data.get("username", "")):
            try:
                return super().clean()
            except ValidationError as refusal:
                # Leave the transaction normally, so the failure axes recorded is kept.
                error = refusal
        raise error


class SignInForm(_CountedSignIn, AuthenticationForm):
    pass


class AdminSignInForm(_CountedSignIn, AdminAuthenticationForm):
    pass


def refused(request, original_response=None, credentials=None):
    """The 429 page with the sign-in form, the email kept, saying when to try again.

    Refused on the admin's sign-in page, the admin's page says the same.
    """
    template = getattr(original_response, "template_name", None) or "registration/login.html"
    context = dict(getattr(original_response, "context_data", None) or {})
    form = context.get("form")
    form_class = type(form) if form is not None else SignInForm
    context |= {
        "form": form_class(request, initial={"username": request.POST.get("username", "")}),
        "throttled": True,
    }
    # A TemplateResponse names its template, or a list of them.
    names = [template] if isinstance(template, str) else list(template)
    template = "429.html" if "registration/login.html" in names else names
    return too_many_requests(request, template, wait=settings.AXES_COOLOFF_TIME, context=context)
