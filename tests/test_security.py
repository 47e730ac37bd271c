"""Every URL of the project, requested the way an attacker or a confused user would.

The URL patterns are enumerated from the resolver, so a new screen is covered the day
it lands; every pattern must be classified below as reading or changing, and a new
one that is not makes `test_every_url_is_classified` fail.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from contacts.bulk.pasted import pasted_selection_create
from contacts.models import Contact
from kajaccess.actors import Actor
from kajaccess.keys.services import api_key_create
from kajaccess.models import SiteMembership, TeamEvent
from products.models import Lesson, LessonCompletion, Offer, Product
from purchases.access import services
from purchases.models import (
    AccessEvent,
    Automation,
    BulkAction,
    Grant,
    ProductAccess,
    Subscription,
)
from tests.factories import checked_import, webhook_delivery_logged

pytestmark = pytest.mark.django_db

# URL names that take a POST only, with CSRF: every one that changes something, and
# the bulk action preview, which is sent the selection.
CHANGING = {
    "library:complete",
    "bulk:preview",
    "bulk:start",
    "bulk:undo",
    "products:offer_restore",
    "contacts:grant_offer",
    "contacts:revoke",
    "contacts:revoke_product",
    "contacts:restore",
    "contacts:restore_product",
    "contacts:edit_access_dates",
    "billing:stop_cancellation",
    "billing:resume",
    "automations:pause",
    "automations:resume",
    "switch_site",
    "team:role",
    "team:reactivate",
    "team:resend_invitation",
    "contacts:import_start",
    "webhooks:enable",
    "webhooks:resend",
}
# URL names that show a page (and may also take a form's POST, such as create and edit).
READING = {
    "contacts:list",
    "bulk:export",
    "bulk:history",
    "bulk:detail",
    "bulk:undo_confirm",
    "bulk:paste",
    "bulk:pasted_not_found",
    "contacts:profile",
    "contacts:preview",
    "contacts:products",
    "contacts:more_info",
    "contacts:edit_access_dates_form",
    "contacts:purchases",
    "contacts:activity",
    "library:index",
    "library:product",
    "library:lesson",
    "products:list",
    "products:progress",
    "products:progress_csv",
    "products:offers",
    "products:offer_create",
    "products:offer_edit",
    "products:offer_delete",
    "products:offer_changes",
    "purchases:activity",
    "contacts:grant_offer_form",
    "contacts:add",
    "contacts:edit",
    "contacts:revoke_confirm",
    "contacts:revoke_product_confirm",
    "contacts:restore_confirm",
    "contacts:restore_product_confirm",
    "billing:subscription",
    "billing:cancel",
    "billing:pause",
    "automations:list",
    "automations:delete",
    "team:list",
    "team:suspend",
    "team:remove",
    "team:transfer",
    "contacts:import",
    "contacts:import_detail",
    "contacts:import_invalid_rows",
    "api_keys:list",
    "api_keys:revoke",
    "api_keys:rotate",
    "webhooks:list",
    "webhooks:detail",
    "webhooks:delete",
}
# Reading URLs whose page is a form that POSTs back to the same URL to change something.
FORMS = {
    "contacts:add",
    "contacts:edit",
    "products:offer_create",
    "products:offer_edit",
    "products:offer_delete",
    "billing:cancel",
    "billing:pause",
    "automations:list",
    "automations:delete",
    "bulk:export",
    "bulk:paste",
    "team:list",
    "team:suspend",
    "team:remove",
    "team:transfer",
    "contacts:import",
    "contacts:import_detail",
    "api_keys:list",
    "api_keys:revoke",
    "api_keys:rotate",
    "webhooks:list",
    "webhooks:delete",
}
# Reading URLs that say what is missing when called bare: Export CSV needs a selection.
NEEDS_INPUT = {"bulk:export"}
# Pages for anyone, signed in or not: signing in and out, passwords, joining a team. Their
# links with a token answer 404 once spent, expired or made up.
OUTSIDE = {
    "home",
    "login",
    "logout",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    "password_change",
    "password_change_done",
    "accept_invitation",
}
# A file to import: two new contacts, one already there, and a row that cannot be imported.
IMPORTED = (
    "Email,Name,Tags\nnew1@example.com,New One,vip\nnew2@example.com,,\nada@example.com,,\nnope,,\n"
)
BAD_VALUES = ["-1", "0", "99999999999999999999999", "abc", "ünïcødé ☃", "x" * 10_000, "1;DROP"]
BAD_PARAMS = [
    "page",
    "per_page",
    "sort",
    "q",
    "offer",
    "product",
    "tag",
    "access",
    "billing",
    "kind",
    "actor",
    "state",
    "status",
    "reason",
    "when",
    "on",
    "until",
    "next",
]


def patterns(resolver=None, prefix="", namespace=None):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            # The admin has its own tests; so has the API (tests/api), whose requests carry
            # a key rather than a session and answer JSON rather than pages.
            if str(entry.pattern).startswith(("admin/", "api/")):
                continue
            yield from patterns(entry, prefix + str(entry.pattern), entry.namespace or namespace)
        elif isinstance(entry, URLPattern) and entry.name:
            name = f"{namespace}:{entry.name}" if namespace else entry.name
            yield name, prefix + str(entry.pattern), entry.default_args


@pytest.fixture
def world():
    """The demo data, plus an automation and a bulk action, as seen by everyone."""
    call_command("seed_demo", contacts=0, stdout=open("/dev/null", "w"))
    User = get_user_model()
    creator = User.objects.get(email="creator@example.com")
    site = creator.memberships.get().site
    ada = Contact.objects.get(site=site, email="ada@example.com")
    advanced = Product.objects.get(site=site, title="Advanced Python")
    bootcamp = Offer.objects.get(site=site, title="Python Bootcamp")
    grant = Grant.objects.get(contact=ada, offer=bootcamp)
    automation = Automation.objects.create(
        site=site,
        trigger=Automation.Trigger.OFFER_GRANTED,
        trigger_offer=bootcamp,
        action=Automation.Action.GRANT_OFFER,
        offer=Offer.objects.get(site=site, title="Coaching Plan"),
    )
    grace = Contact.objects.get(site=site, email="grace@example.com")
    bulk = BulkAction.objects.create(
        site=site,
        created_by=creator,
        action="revoke_offer",
        params={"offer": bootcamp.pk},
        selection={"ids": [grace.pk]},
        status=BulkAction.Status.DONE,
        total=1,
        processed=1,
        changed=1,
    )
    services.revoke_grants(
        grant_ids=[Grant.objects.get(contact=grace, offer=bootcamp).pk],
        actor=Actor.creator(creator),
        bulk_action=bulk,
    )
    administrator = SiteMembership.objects.create(
        site=site,
        user=User.objects.create_user("admin@example.com", "admin@example.com", "kajaccess-demo"),
        role=SiteMembership.Role.ADMIN,
    )
    delivery = webhook_delivery_logged(site=site, actor=Actor.creator(creator))
    ids = {
        "prefix": api_key_create(
            site=site, name="CRM", scopes=["read"], expires_at=None, actor=Actor.creator(creator)
        ).key.prefix,
        "endpoint_id": delivery.endpoint_id,
        "delivery_id": delivery.pk,
        "member_id": administrator.pk,
        "uidb64": "MQ",
        "token": "cz1m0k-0123456789abcdef",
        "contact_id": ada.pk,
        "product_id": advanced.pk,
        "lesson_id": advanced.lessons.order_by("position").first().pk,
        "offer_id": bootcamp.pk,
        "grant_id": grant.pk,
        "subscription_id": Subscription.objects.get(grant__contact=ada).pk,
        "automation_id": automation.pk,
        "bulk_id": bulk.pk,
        "pasted_id": pasted_selection_create(
            site=site, user=creator, text="ada@example.com nobody@example.com"
        ).pk,
        "import_id": checked_import(site=site, user=creator, text=IMPORTED).pk,
    }
    other_school_customer = User.objects.create_user(
        "someone@other.example", "someone@other.example", "kajaccess-demo"
    )
    other_site = User.objects.get(email="other@example.com").memberships.get().site
    Contact.objects.create(
        site=other_site, email="someone@other.example", user=other_school_customer
    )
    return {
        "ids": ids,
        "creator": creator,
        "other_member": User.objects.get(email="other@example.com"),
        "ada": User.objects.get(email="ada@example.com"),
        "other_customer": other_school_customer,
    }


def takes_post(name: str) -> bool:
    return name in CHANGING or name in FORMS


def allowed(name: str, method: str) -> set[int]:
    """A refused object is a 404; a method the URL never takes may answer 405 first."""
    if method == "GET":
        return {404, 405} if name in CHANGING else {404}
    return {404} if takes_post(name) else {404, 405}


def url_for(pattern: str, ids: dict) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ids[m.group(1)]), pattern)


def client_for(user, **kwargs) -> Client:
    client = Client(**kwargs)
    if user is not None:
        client.force_login(user)
    return client


def state() -> tuple:
    """What a GET must never change."""
    return (
        AccessEvent.objects.count(),
        tuple(Grant.objects.order_by("pk").values_list("status", "expires_at")),
        tuple(ProductAccess.objects.order_by("pk").values_list("status")),
        tuple(Subscription.objects.order_by("pk").values_list("status", "cancel_at")),
        tuple(Offer.objects.order_by("pk").values_list("deleted_at")),
        tuple(Automation.objects.order_by("pk").values_list("active")),
        LessonCompletion.objects.count(),
        BulkAction.objects.count(),
        TeamEvent.objects.count(),
        tuple(SiteMembership.objects.order_by("pk").values_list("role", "status")),
    )


def test_every_url_is_classified():
    names = {name for name, _, _ in patterns()}
    assert names - CHANGING - READING - OUTSIDE == set()
    assert (CHANGING | READING) - names == set()


def test_anonymous_visitors_are_sent_to_sign_in(world):
    client = Client()
    for name, pattern, _ in patterns():
        if name in OUTSIDE:
            continue
        url = url_for(pattern, world["ids"])
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 302, (name, url, response.status_code)
            assert response.url.startswith(reverse("login")), (name, url)


def test_another_sites_objects_are_404(world):
    """Other School's owner asks for Demo Academy's objects; Other School's customer too."""
    member = client_for(world["other_member"])
    customer = client_for(world["other_customer"])
    for name, pattern, _ in patterns():
        if name in OUTSIDE or "<" not in pattern:
            continue
        url = url_for(pattern, world["ids"])
        client = customer if name.startswith("library:") else member
        # A 405 for the wrong method looks nothing up, so it confirms nothing either.
        assert client.post(url).status_code in allowed(name, "POST"), (name, url)
        assert client.get(url).status_code in allowed(name, "GET"), (name, url)


def test_customers_cannot_open_the_dashboard(world):
    customer = client_for(world["ada"])
    for name, pattern, _ in patterns():
        if name in OUTSIDE or name.startswith("library:"):
            continue
        url = url_for(pattern, world["ids"])
        assert customer.get(url).status_code in allowed(name, "GET"), (name, url)
        assert customer.post(url).status_code in allowed(name, "POST"), (name, url)


def test_a_post_without_a_csrf_token_is_refused(world):
    creator = client_for(world["creator"], enforce_csrf_checks=True)
    ada = client_for(world["ada"], enforce_csrf_checks=True)
    before = state()
    for name, pattern, _ in patterns():
        if name in OUTSIDE:
            continue
        client = ada if name.startswith("library:") else creator
        response = client.post(url_for(pattern, world["ids"]), {"reason": "x"})
        assert response.status_code == 403, (name, response.status_code)
    assert state() == before


def test_a_get_to_a_changing_url_is_405_and_no_get_changes_anything(world):
    creator = client_for(world["creator"])
    ada = client_for(world["ada"])
    before = state()
    for name, pattern, _ in patterns():
        if name in OUTSIDE:
            continue
        client = ada if name.startswith("library:") else creator
        response = client.get(url_for(pattern, world["ids"]))
        if name in CHANGING:
            assert response.status_code == 405, (name, response.status_code)
        elif name in NEEDS_INPUT:
            assert response.status_code == 400, (name, response.status_code)
        else:
            assert response.status_code == 200, (name, response.status_code)
    assert state() == before


def test_malformed_ids_are_404_never_500(world):
    creator = client_for(world["creator"])
    for name, pattern, _ in patterns():
        if "<" not in pattern:
            continue
        for bad in ("99999999999999999999999", "-1", "abc", "1.5", "０１", "%F0%9F%98%80"):
            ids = {key: bad for key in world["ids"]}
            response = creator.get(url_for(pattern, ids))
            assert response.status_code in allowed(name, "GET"), (name, bad, response.status_code)
            response = creator.post(url_for(pattern, ids))
            assert response.status_code in allowed(name, "POST"), (name, bad, response.status_code)


def test_malformed_parameters_get_a_4xx_never_a_500(world):
    creator = client_for(world["creator"])
    ada = client_for(world["ada"])
    for name, pattern, _ in patterns():
        if name in OUTSIDE:
            continue
        client = ada if name.startswith("library:") else creator
        url = url_for(pattern, world["ids"])
        for value in BAD_VALUES:
            params = {param: value for param in BAD_PARAMS}
            if name not in CHANGING:
                response = client.get(url, params)
                assert response.status_code < 500, (name, "GET", value[:20], response.status_code)
            if takes_post(name):
                response = client.post(url, params)
                assert response.status_code < 500, (name, "POST", value[:20], response.status_code)


def test_a_non_staff_user_cannot_open_the_admin(world):
    for user in (world["creator"], world["ada"]):
        response = client_for(user).get("/admin/")
        assert response.status_code == 302
        assert response.url.startswith("/admin/login/")


def test_production_settings_are_strict():
    root = Path(__file__).resolve().parent.parent
    env = {
        "PATH": "/usr/bin:/bin",
        "DEBUG": "false",
        "SECRET_KEY": "k" * 20 + "-production-secret-" + "Zq8#" * 10,
        "ALLOWED_HOSTS": "kajaccess.example.com",
        "DJANGO_SETTINGS_MODULE": "kajaccess.settings",
    }
    check = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "no issues" in check.stdout
    script = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.CSRF_COOKIE_SECURE, "
        "s.X_FRAME_OPTIONS, s.SECURE_HSTS_SECONDS > 0, s.SECURE_SSL_REDIRECT, "
        '"script-src" in s.CONTENT_SECURITY_POLICY)'
    )
    values = subprocess.run(
        [sys.executable, "-c", script], cwd=root, env=env, capture_output=True, text=True
    )
    assert values.stdout.split() == ["True", "True", "True", "DENY", "True", "True", "True"]


def test_every_page_sends_the_security_headers(client):
    response = client.get(reverse("login"))
    assert response["X-Frame-Options"] == "DENY"
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"


def test_revokes_by_get_are_impossible_even_with_a_valid_session(world):
    """A link in an email cannot revoke anything: only the form's POST can."""
    creator = client_for(world["creator"])
    url = reverse(
        "contacts:revoke",
        kwargs={"contact_id": world["ids"]["contact_id"], "grant_id": world["ids"]["grant_id"]},
    )
    assert creator.get(url).status_code == 405
    assert Grant.objects.get(pk=world["ids"]["grant_id"]).status == "active"
    services.revoke_grant(
        grant=Grant.objects.get(pk=world["ids"]["grant_id"]), actor=Actor.creator(world["creator"])
    )
    assert Lesson.objects.exists()
