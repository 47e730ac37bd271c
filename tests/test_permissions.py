"""Roles: what each member of a site's team may do, generated from the issue's table.

CONTRACT is the table (capability -> the roles that have it) and URLS puts every URL
pattern and method in one of its rows. Every URL x role x method is requested with
valid data: where the table says yes it succeeds, where it says no it is a 403 in the
product's words and changes nothing. A URL pattern missing from URLS, or a permission
of kajaccess.roles missing from PERMISSIONS, fails the test. CONTROLS lists what each
row shows on the pages, so that a control a role cannot use is not drawn.
"""

import hashlib
import html
import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
import rules
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from contacts.bulk.pasted import pasted_selection_create
from contacts.imports.steps import preview_token
from contacts.models import Contact
from kajaccess.actors import Actor
from kajaccess.keys.services import api_key_create
from kajaccess.models import SiteMembership
from products.models import Offer
from purchases.access import services
from purchases.billing import runs as billing_runs
from purchases.billing import services as billing
from purchases.models import (
    AccessEvent,
    Automation,
    BulkAction,
    Grant,
    Subscription,
    WebhookDelivery,
    WebhookEndpoint,
)
from purchases.webhooks.services import webhook_endpoint_create
from tests.factories import (
    ContactFactory,
    MembershipFactory,
    OfferFactory,
    ProductFactory,
    SiteFactory,
    UserFactory,
    checked_import,
)
from tests.test_security import patterns

pytestmark = pytest.mark.django_db

Role = SiteMembership.Role
OWNER, ADMIN, ASSISTANT, SUPPORT = Role.OWNER, Role.ADMIN, Role.ASSISTANT, Role.SUPPORT
ROLES = [OWNER, ADMIN, ASSISTANT, SUPPORT]
ALL = {OWNER, ADMIN, ASSISTANT, SUPPORT}

# The table: capability -> the roles that have it.
CONTRACT = {
    "contacts": ALL,  # Contacts tab, preview, profile, Activity
    "access": ALL,  # revoke, restore, grant one contact's access; add and remove tags
    "bulk": {OWNER, ADMIN, ASSISTANT},  # bulk actions and Undo
    "export": {OWNER, ADMIN},  # Export CSV
    "billing": {OWNER, ADMIN},  # see amounts, payments, billing status
    "payments": {OWNER, ADMIN},  # cancel, pause, resume subscriptions and payment plans
    "offers": {OWNER, ADMIN, ASSISTANT},  # offers: create, edit products and access days
    "offer prices": {OWNER, ADMIN},  # offers: price and payment type, delete, restore
    "products": {OWNER, ADMIN},  # Products tab and Product Progress report
    "automations": {OWNER, ADMIN},
    "team": {OWNER, ADMIN},  # team and site settings (and API keys)
    "the owner": {OWNER},  # ... where an administrator cannot change the owner
}

# Each permission of kajaccess.roles, by the row of the table it stands for.
PERMISSIONS = {
    "kajaccess.view_contacts": "contacts",
    "kajaccess.change_access": "access",
    "kajaccess.tag_contacts": "access",
    "kajaccess.edit_contacts": "access",
    "kajaccess.run_bulk_actions": "bulk",
    "kajaccess.export_contacts": "export",
    "kajaccess.view_billing": "billing",
    "kajaccess.cancel_payments": "payments",
    "kajaccess.pause_payments": "payments",
    "kajaccess.edit_offers": "offers",
    "kajaccess.price_offers": "offer prices",
    "kajaccess.delete_offers": "offer prices",
    "kajaccess.view_products": "products",
    "kajaccess.manage_automations": "automations",
    "kajaccess.manage_team": "team",
    "kajaccess.manage_site": "team",
    "kajaccess.manage_api_keys": "team",
    "kajaccess.manage_webhooks": "team",
    "kajaccess.change_owner": "the owner",
}

# Every URL pattern, by the methods it takes and the row each method needs.
READ, FORM = ("GET",), ("GET", "POST")
URLS = {
    "contacts:list": "contacts",
    "contacts:profile": "contacts",
    "contacts:preview": "contacts",
    "contacts:products": "contacts",
    "contacts:more_info": "contacts",
    "contacts:purchases": "contacts",
    "contacts:activity": "contacts",
    "purchases:activity": "contacts",
    "contacts:grant_offer_form": "access",
    "contacts:add": "access",
    "contacts:edit": "access",
    "contacts:grant_offer": "access",
    "contacts:revoke_confirm": "access",
    "contacts:revoke": "access",
    "contacts:revoke_product_confirm": "access",
    "contacts:revoke_product": "access",
    "contacts:restore_confirm": "access",
    "contacts:restore": "access",
    "contacts:restore_product_confirm": "access",
    "contacts:restore_product": "access",
    "contacts:edit_access_dates_form": "access",
    "contacts:edit_access_dates": "access",
    "bulk:preview": "bulk",
    "bulk:start": "bulk",
    "bulk:history": "bulk",
    "bulk:detail": "bulk",
    "bulk:undo_confirm": "bulk",
    "bulk:undo": "bulk",
    "bulk:export": "export",
    "bulk:paste": "bulk",
    "bulk:pasted_not_found": "bulk",
    # Importing makes contacts and runs as a bulk action: it takes both permissions.
    "contacts:import": "bulk",
    "contacts:import_detail": "bulk",
    "contacts:import_start": "bulk",
    "contacts:import_invalid_rows": "bulk",
    "products:list": "products",
    "products:progress": "products",
    "products:progress_csv": "products",
    "products:offers": "offers",
    "products:offer_create": "offers",
    "products:offer_edit": "offers",
    "products:offer_changes": "offers",
    "products:offer_delete": "offer prices",
    "products:offer_restore": "offer prices",
    "billing:subscription": "billing",
    "billing:cancel": "payments",
    "billing:stop_cancellation": "payments",
    "billing:pause": "payments",
    "billing:resume": "payments",
    "automations:list": "automations",
    "automations:pause": "automations",
    "automations:resume": "automations",
    "automations:delete": "automations",
    "switch_site": "contacts",
    "team:list": "team",
    "team:role": "team",
    "team:suspend": "team",
    "team:reactivate": "team",
    "team:remove": "team",
    "team:resend_invitation": "team",
    "team:transfer": "the owner",
    "api_keys:list": "team",
    "api_keys:revoke": "team",
    "api_keys:rotate": "team",
    "webhooks:list": "team",
    "webhooks:detail": "team",
    "webhooks:delete": "team",
    "webhooks:enable": "team",
    "webhooks:resend": "team",
}
CHANGE = ("POST",)
# The methods of each URL that takes more than a GET.
METHODS = {
    "contacts:add": FORM,
    "contacts:edit": FORM,
    "contacts:grant_offer": CHANGE,
    "contacts:revoke": CHANGE,
    "contacts:revoke_product": CHANGE,
    "contacts:restore": CHANGE,
    "contacts:restore_product": CHANGE,
    "contacts:edit_access_dates": CHANGE,
    "bulk:preview": CHANGE,
    "bulk:start": CHANGE,
    "bulk:undo": CHANGE,
    "bulk:export": FORM,
    "bulk:paste": FORM,
    "contacts:import": FORM,
    "contacts:import_detail": FORM,
    "contacts:import_start": CHANGE,
    "products:offer_create": FORM,
    "products:offer_edit": FORM,
    "products:offer_delete": FORM,
    "products:offer_restore": CHANGE,
    "billing:cancel": FORM,
    "billing:pause": FORM,
    "billing:stop_cancellation": CHANGE,
    "billing:resume": CHANGE,
    "automations:list": FORM,
    "automations:pause": CHANGE,
    "automations:resume": CHANGE,
    "automations:delete": FORM,
    "switch_site": CHANGE,
    "team:list": FORM,
    "team:role": CHANGE,
    "team:suspend": FORM,
    "team:reactivate": CHANGE,
    "team:remove": FORM,
    "team:resend_invitation": CHANGE,
    "team:transfer": FORM,
    "api_keys:list": FORM,
    "api_keys:revoke": FORM,
    "api_keys:rotate": FORM,
    "webhooks:list": FORM,
    "webhooks:delete": FORM,
    "webhooks:enable": CHANGE,
    "webhooks:resend": CHANGE,
}
# Not the team's: signing in and out, the way home, and the customers' Library.
NOT_FOR_THE_TEAM = (
    {"home", "login", "logout", "accept_invitation"}
    | {f"library:{name}" for name in ("index", "product", "lesson", "complete")}
    | {
        f"password_{name}"
        for name in (
            "reset",
            "reset_done",
            "reset_confirm",
            "reset_complete",
            "change",
            "change_done",
        )
    }
)
# URLs of an object that belongs to the member who made it: anyone else gets a 404.
OWN = {"bulk:pasted_not_found": "pasted_id"}
CASES = [(name, method) for name in URLS for method in METHODS.get(name, READ)]

NAMES = {
    OWNER: ("Casey", "Creator"),
    ADMIN: ("Alex", "Admin"),
    ASSISTANT: ("Taylor", "Team"),
    SUPPORT: ("Sam", "Specialist"),
}


@dataclass
class World:
    """A small school with something for every URL: grants, billing, an automation, a bulk run."""

    site: object
    members: dict
    ids: dict
    objects: dict

    def request(self, name: str, method: str, role: str = OWNER) -> tuple[str, dict]:
        """The URL and valid data of a request by `role`'s member: a pasted list and an
        import are their member's own, so each role asks for the one it made."""
        objects = {**self.objects, "import": self.objects["imports"][role]}
        ids = {**self.ids, **OVERRIDES.get(name, lambda o: {})(objects)}
        if name in OWN:
            key = OWN[name]
            ids[key] = self.objects["own"][key][role]
        pattern = next(p for n, p, _ in patterns() if n == name)
        url = "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ids[m.group(1)]), pattern)
        data = DATA.get((name, method), lambda o: {})(objects)
        return url, data


def subscribe(offer, contact) -> Subscription:
    grant = services.grant_offer(
        contact=contact,
        offer=offer,
        actor=Actor.customer(None),
        source=Grant.Source.PURCHASE,
        starts_at=timezone.now() - timedelta(days=3),
    ).obj
    return Subscription.objects.get(grant=grant)


def build_world() -> World:
    site = SiteFactory(name="Roles Academy", slug="roles-academy")
    members = {
        role: MembershipFactory(
            site=site,
            role=role,
            user=UserFactory(
                email=f"{first.lower()}@roles.example", first_name=first, last_name=last
            ),
        )
        for role, (first, last) in NAMES.items()
    }
    owner = Actor.creator(members[OWNER].user, role=OWNER)
    basics = ProductFactory(site=site, title="Python Basics", lessons=3)
    advanced = ProductFactory(site=site, title="Advanced Python", lessons=2)
    vault = ProductFactory(site=site, title="The Vault")
    bootcamp = OfferFactory(
        site=site, title="Python Bootcamp", price=Decimal("299.00"), products=[basics, advanced]
    )
    membership = OfferFactory(
        site=site,
        title="Vault Membership",
        price=Decimal("29.00"),
        payment_type=Offer.PaymentType.SUBSCRIPTION,
        products=[vault],
    )
    coaching = OfferFactory(
        site=site,
        title="Coaching",
        price=Decimal("0"),
        payment_type=Offer.PaymentType.FREE,
        products=[ProductFactory(site=site, title="Coaching Calls")],
    )
    retired = OfferFactory(site=site, title="Old Course", deleted_at=timezone.now())
    people = {
        first: ContactFactory(
            site=site, name=f"{first.title()} Person", email=f"{first}@roles.example"
        )
        for first in ("ada", "grace", "edsger", "alan", "barbara", "linus")
    }
    ada_grant = services.grant_offer(
        contact=people["ada"], offer=bootcamp, actor=owner, source=Grant.Source.PURCHASE
    ).obj
    vault_sub = subscribe(membership, people["ada"])
    pending_sub = subscribe(membership, people["alan"])
    paused_sub = subscribe(membership, people["barbara"])
    billing_runs.run_billing()
    billing.cancel_subscription(subscription=pending_sub, actor=owner)
    billing.pause_subscription(subscription=paused_sub, actor=owner)
    grace_grant = services.grant_offer(contact=people["grace"], offer=bootcamp, actor=owner).obj
    services.revoke_grant(grant=grace_grant, actor=owner)
    edsger_grant = services.grant_offer(contact=people["edsger"], offer=bootcamp, actor=owner).obj
    services.revoke_product(grant=edsger_grant, product=advanced, actor=owner)
    linus_grant = services.grant_offer(contact=people["linus"], offer=bootcamp, actor=owner).obj
    bulk = BulkAction.objects.create(
        site=site,
        created_by=members[OWNER].user,
        action="revoke_offer",
        params={"offer": bootcamp.pk},
        selection={"ids": [people["linus"].pk]},
        status=BulkAction.Status.DONE,
        total=1,
        processed=1,
        changed=1,
    )
    services.revoke_grants(grant_ids=[linus_grant.pk], actor=owner, bulk_action=bulk)
    automation = Automation.objects.create(
        site=site,
        trigger=Automation.Trigger.OFFER_GRANTED,
        trigger_offer=bootcamp,
        action=Automation.Action.GRANT_OFFER,
        offer=coaching,
    )
    # Members for Settings > Team to act on: one to change, one suspended, one invited.
    val = MembershipFactory(site=site, role=ASSISTANT, user=UserFactory(email="val@roles.example"))
    suspended = MembershipFactory(
        site=site,
        role=ASSISTANT,
        status=SiteMembership.Status.SUSPENDED,
        user=UserFactory(email="sus@roles.example"),
    )
    invitee = UserFactory(email="new@roles.example")
    invitee.set_unusable_password()
    invitee.save()
    invited = MembershipFactory(site=site, role=SUPPORT, user=invitee, invited_at=timezone.now())
    # Each member's own file, checked: another member's import is a 404 to them.
    imports = {
        role: checked_import(site=site, user=member.user, text=IMPORTED)
        for role, member in members.items()
    }
    objects = {
        **people,
        "imports": imports,
        "val": val,
        "suspended": suspended,
        "invited": invited,
        "admin_member": members[ADMIN],
        "site": site,
        "basics": basics,
        "advanced": advanced,
        "bootcamp": bootcamp,
        "membership": membership,
        "coaching": coaching,
        "retired": retired,
        "ada_grant": ada_grant,
        "vault_grant": vault_sub.grant,
        "grace_grant": grace_grant,
        "edsger_grant": edsger_grant,
        "vault_sub": vault_sub,
        "pending_sub": pending_sub,
        "paused_sub": paused_sub,
        "automation": automation,
        "bulk": bulk,
    }
    endpoint = webhook_endpoint_create(
        site=site, url="https://hooks.example.com/", event_types=["access.revoked"], actor=owner
    ).endpoint
    # Switched off after a day of failures, so that it can be turned on again.
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(disabled_at=timezone.now())
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_id="evt_roles",
        type="access.revoked",
        access_event=AccessEvent.objects.filter(site=site).first(),
    )
    ids = {
        "endpoint_id": endpoint.pk,
        "delivery_id": delivery.pk,
        "prefix": api_key_create(
            site=site, name="CRM", scopes=["read"], expires_at=None, actor=owner
        ).key.prefix,
        "contact_id": people["ada"].pk,
        "grant_id": ada_grant.pk,
        "product_id": advanced.pk,
        "offer_id": bootcamp.pk,
        "subscription_id": vault_sub.pk,
        "automation_id": automation.pk,
        "bulk_id": bulk.pk,
        "member_id": val.pk,
    }
    # Each member's own pasted list of emails (a support specialist cannot paste, but
    # a list of theirs must still be refused by role, not by owner).
    objects["own"] = {
        "pasted_id": {
            role: pasted_selection_create(
                site=site, user=member.user, text="ada@roles.example nobody@example.com"
            ).pk
            for role, member in members.items()
        }
    }
    return World(site, members, ids, objects)


def _restore(contact: str, grant: str):
    return lambda o: {"contact_id": o[contact].pk, "grant_id": o[grant].pk}


# The URL's objects where the default ones would not do (a restore needs a revoked grant).
OVERRIDES = {
    "contacts:restore_confirm": _restore("grace", "grace_grant"),
    "contacts:restore": _restore("grace", "grace_grant"),
    "contacts:restore_product_confirm": _restore("edsger", "edsger_grant"),
    "contacts:restore_product": _restore("edsger", "edsger_grant"),
    "products:offer_restore": lambda o: {"offer_id": o["retired"].pk},
    "billing:stop_cancellation": lambda o: {"subscription_id": o["pending_sub"].pk},
    "billing:resume": lambda o: {"subscription_id": o["paused_sub"].pk},
    "team:reactivate": lambda o: {"member_id": o["suspended"].pk},
    "team:resend_invitation": lambda o: {"member_id": o["invited"].pk},
    "team:transfer": lambda o: {"member_id": o["admin_member"].pk},
    **{
        name: lambda o: {"import_id": o["import"].pk}
        for name in (
            "contacts:import_detail",
            "contacts:import_start",
            "contacts:import_invalid_rows",
        )
    },
}
IMPORTED = "Email,Name,Tags\nnewcomer@roles.example,New Comer,VIP\nada@roles.example,,\nnope,,\n"
REASON = {"reason": "Asked by the customer"}
# Valid data for each request that needs some.
DATA = {
    ("contacts:grant_offer", "POST"): lambda o: {"offer": o["coaching"].pk},
    ("contacts:add", "POST"): lambda o: {
        "email": "newcomer@roles.example",
        "name": "New Comer",
        "offer": o["coaching"].pk,
    },
    ("contacts:edit", "POST"): lambda o: {
        "name": "Ada Renamed",
        "email": o["ada"].email,
        "shown_name": o["ada"].name,
        "shown_email": o["ada"].email,
    },
    **{
        (name, "POST"): lambda o: REASON
        for name in URLS
        if name.startswith(("contacts:revoke", "contacts:restore"))
    },
    ("contacts:edit_access_dates", "POST"): lambda o: {
        "starts_on": o["ada_grant"].starts_at.date().isoformat(),
        "ends_on": "2031-01-01",
    },
    ("bulk:preview", "POST"): lambda o: {"action": "add_tag", "ids": [o["ada"].pk]},
    ("bulk:start", "POST"): lambda o: {"action": "add_tag", "ids": [o["ada"].pk], "tag": "VIP"},
    ("bulk:export", "GET"): lambda o: {"ids": [o["ada"].pk]},
    ("bulk:export", "POST"): lambda o: {"ids": [o["ada"].pk]},
    ("bulk:paste", "POST"): lambda o: {"emails": "ada@roles.example, nobody@example.com"},
    ("products:offer_changes", "GET"): lambda o: {"products": [o["basics"].pk]},
    ("products:offer_create", "POST"): lambda o: {
        "title": "Summer School",
        "products": [o["basics"].pk],
        "payment_type": "free",
        "price": "0",
        "interval": "month",
    },
    ("products:offer_edit", "POST"): lambda o: {
        "title": "Python Bootcamp",
        "products": [o["basics"].pk, o["advanced"].pk],
        "payment_type": "one_time",
        "price": "299.00",
        "interval": "month",
        "access_days": "30",
    },
    ("billing:cancel", "POST"): lambda o: {"when": "now"},
    ("switch_site", "POST"): lambda o: {"site": o["site"].pk},
    # A file of its own for each request: the one sent before has been read.
    ("contacts:import", "POST"): lambda o: {
        "file": SimpleUploadedFile("more.csv", IMPORTED.encode(), content_type="text/csv")
    },
    ("contacts:import_detail", "POST"): lambda o: {
        "email": "0",
        "name": "1",
        "tags": "2",
        "existing": "update",
        "offer": o["coaching"].pk,
        "tag": "Imported",
    },
    ("contacts:import_start", "POST"): lambda o: {"token": preview_token(o["import"])},
    ("team:list", "POST"): lambda o: {"email": "joiner@roles.example", "role": "assistant"},
    ("team:role", "POST"): lambda o: {"role": "support"},
    ("api_keys:list", "POST"): lambda o: {"name": "Help desk", "scopes": ["read", "access"]},
    ("webhooks:list", "POST"): lambda o: {
        "url": "https://crm.example.com/hooks",
        "event_types": ["access.granted", "access.revoked"],
    },
    ("team:transfer", "POST"): lambda o: {"password": "kajaccess-demo"},
    ("billing:pause", "POST"): lambda o: {"how": "indefinitely"},
    ("automations:list", "POST"): lambda o: {
        "trigger": "offer_granted",
        "trigger_offer": o["membership"].pk,
        "action": "grant_offer",
        "offer": o["coaching"].pk,
    },
}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def snapshot() -> tuple:
    """Row counts and a checksum of every row of the project's tables and its users."""
    models = [get_user_model()] + [
        model
        for app in ("kajaccess", "contacts", "products", "purchases")
        for model in apps.get_app_config(app).get_models(include_auto_created=True)
    ]
    rows = [list(model.objects.order_by("pk").values_list()) for model in models]
    counts = {model._meta.label: len(table) for model, table in zip(models, rows, strict=True)}
    return counts, hashlib.sha256(repr(rows).encode()).hexdigest()


def allowed(role: str, row: str) -> bool:
    return role in CONTRACT[row]


def refusal_words(role: str) -> str:
    return f"Your role, {Role(role).label}, cannot "


def send(client: Client, method: str, url: str, data: dict):
    return client.get(url, data) if method == "GET" else client.post(url, data)


# --- The classification --------------------------------------------------------------


def test_every_url_is_in_the_matrix():
    names = {name for name, _, _ in patterns()}
    assert names - set(URLS) - NOT_FOR_THE_TEAM == set(), "classify the new URL in URLS"
    assert set(URLS) - names == set()
    assert set(METHODS) <= set(URLS)


def test_every_permission_is_a_row_of_the_table_and_holds_what_it_says(world):
    registered = {name for name in rules.permissions.permissions if name.startswith("kajaccess.")}
    assert registered == set(PERMISSIONS), "put the new permission in a row of the table"
    for role, member in world.members.items():
        for name, row in PERMISSIONS.items():
            assert member.user.has_perm(name, member) is allowed(role, row), (name, role)


def test_a_permission_counts_only_with_the_members_own_membership(world, django_assert_num_queries):
    owner, support = world.members[OWNER], world.members[SUPPORT]
    with django_assert_num_queries(0):
        assert owner.user.has_perm("kajaccess.cancel_payments", owner)
        assert not support.user.has_perm("kajaccess.cancel_payments", owner)
        assert not owner.user.has_perm("kajaccess.cancel_payments", world.site)
    assert not owner.user.has_perm("kajaccess.cancel_payments", None)


# --- Every URL x every role x its methods ----------------------------------------------


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """One world for every request below; each request's changes are rolled back."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


@pytest.mark.parametrize(("name", "method"), CASES, ids=[f"{n} {m}" for n, m in CASES])
def test_each_role_gets_what_the_table_says(world, name, method):
    for role in ROLES:
        url, data = world.request(name, method, role)
        client = client_for(world.members[role].user)
        with transaction.atomic():
            before = snapshot()
            response = send(client, method, url, data)
            if allowed(role, URLS[name]):
                assert 200 <= response.status_code < 400, (role, response.status_code)
            else:
                assert response.status_code == 403, (role, response.status_code)
                page = html.unescape(response.content.decode())
                assert refusal_words(role) in page, role
                assert "Ask the site's owner" in page
                assert snapshot() == before, role
            transaction.set_rollback(True)


def test_another_sites_objects_stay_404_for_a_role_that_may_not_use_them(world):
    """The lookup comes before the role, so a 403 never says another site's object exists."""
    other = SiteFactory(name="Other School", slug="other-school")
    clients = {role: client_for(MembershipFactory(site=other, role=role).user) for role in ROLES}
    before = snapshot()
    for role, client in clients.items():
        for name, method in CASES:
            url, data = world.request(name, method)
            if "<" not in next(p for n, p, _ in patterns() if n == name):
                continue
            response = send(client, method, url, data)
            assert response.status_code == 404, (name, method, role, response.status_code)
    assert snapshot() == before


IMPORT_URLS = [(name, method) for name, method in CASES if name.startswith("contacts:import_")]


@pytest.mark.parametrize("role", [ADMIN, ASSISTANT, SUPPORT])
def test_an_import_is_its_uploaders_alone(world, role):
    """Another member of the site, even one who may import, gets a 404 for the owner's file."""
    client = client_for(world.members[role].user)
    before = snapshot()
    for name, method in IMPORT_URLS:
        url, data = world.request(name, method, OWNER)
        response = send(client, method, url, data)
        assert response.status_code == 404, (name, method, role, response.status_code)
        assert "newcomer@roles.example" not in response.content.decode(), (name, role)
    assert snapshot() == before


@pytest.mark.parametrize("name", sorted(OWN))
def test_a_members_own_object_is_404_for_every_other_member_of_the_site(world, name):
    clients = {role: client_for(world.members[role].user) for role in ROLES}
    before = snapshot()
    for role, client in clients.items():
        for other in ROLES:
            if other == role:
                continue
            url, data = world.request(name, "GET", other)
            response = client.get(url, data)
            assert response.status_code == 404, (name, role, other, response.status_code)
            assert "nobody@example.com" not in response.content.decode()
    assert snapshot() == before


def test_the_refusal_says_what_the_role_cannot_do_and_whom_to_ask(world):
    client = client_for(world.members[ASSISTANT].user)
    url, data = world.request("billing:cancel", "POST")
    response = client.post(url, data)
    assert response.status_code == 403
    assert (
        "Your role, Assistant, cannot cancel payments. Ask the site's owner or an administrator."
        in html.unescape(response.content.decode())
    )
    assert Subscription.objects.get(pk=world.ids["subscription_id"]).status == "active"


# --- What the pages draw ---------------------------------------------------------------


def _page(name: str, **kwargs):
    return lambda o: reverse(name, kwargs={key: o[value].pk for key, value in kwargs.items()})


ADA = {"contact_id": "ada"}
# (page, text that marks a control or a figure on it, the row of the table it belongs to)
CONTROLS = [
    (_page("contacts:list"), 'href="/products/"', "products"),
    (_page("contacts:list"), 'href="/offers/"', "offers"),
    (_page("contacts:list"), 'href="/bulk-actions/"', "bulk"),
    (_page("contacts:list"), 'href="/automations/"', "automations"),
    (_page("contacts:list"), 'href="/activity/"', "contacts"),
    (_page("contacts:list"), 'name="action" value="grant_offer"', "bulk"),
    (_page("contacts:list"), 'name="action" value="add_tag"', "bulk"),
    (_page("contacts:list"), 'name="action" value="set_end_date"', "bulk"),
    (_page("contacts:list"), 'name="ids"', "bulk"),
    (_page("contacts:list"), ">Paste emails</a>", "bulk"),
    (_page("contacts:list"), ">Import</a>", "bulk"),
    (_page("contacts:list"), ">Export CSV</button>", "export"),
    (_page("contacts:list"), 'name="billing"', "billing"),
    (_page("contacts:preview", **ADA), "Subscriptions and payment plans", "billing"),
    (_page("contacts:preview", **ADA), "Cancel Payments", "payments"),
    (_page("contacts:preview", **ADA), ">Grant offer<", "access"),
    (_page("contacts:profile", **ADA), ">Grant offer<", "access"),
    (_page("contacts:purchases", **ADA), "<dt>Amount</dt>", "billing"),
    (_page("contacts:purchases", **ADA), "29.00 USD", "billing"),
    (_page("contacts:purchases", **ADA), 'aria-label="Latest payments"', "billing"),
    (_page("contacts:purchases", **ADA), "Pause Payments", "payments"),
    (_page("contacts:purchases", **ADA), "Cancel Payments", "payments"),
    (_page("contacts:more_info", **ADA, product_id="advanced"), ">Revoke Access<", "access"),
    (_page("contacts:more_info", **ADA, product_id="advanced"), ">Edit access dates<", "access"),
    (_page("contacts:more_info", **ADA, product_id="advanced"), "299.00 USD", "billing"),
    (
        _page("contacts:revoke_confirm", **ADA, grant_id="vault_grant"),
        "Payments continue",
        "billing",
    ),
    (_page("products:offers"), "New offer", "offers"),
    (_page("products:offers"), ">Edit<", "offers"),
    (_page("products:offers"), "Delete offer", "offer prices"),
    (_page("products:offers"), "Restore offer", "offer prices"),
    (_page("products:offers"), "299.00", "billing"),
    (_page("products:offer_edit", offer_id="bootcamp"), 'name="access_days"', "offers"),
    (_page("products:offer_edit", offer_id="bootcamp"), 'name="products"', "offers"),
    (_page("products:offer_edit", offer_id="bootcamp"), 'name="price"', "offer prices"),
    (_page("products:offer_edit", offer_id="bootcamp"), 'name="payment_type"', "offer prices"),
    (_page("products:progress", product_id="basics"), "Export CSV", "export"),
    (_page("bulk:history"), ">Undo<", "bulk"),
]


@pytest.mark.parametrize("role", ROLES)
def test_a_control_a_role_cannot_use_is_not_drawn(world, role):
    client = client_for(world.members[role].user)
    pages = {}
    for page, marker, row in CONTROLS:
        url = page(world.objects)
        if url not in pages:
            pages[url] = client.get(url)
        response = pages[url]
        page_html = response.content.decode()
        if response.status_code == 403:
            assert marker not in page_html, (url, marker)
            continue
        assert response.status_code == 200, (url, response.status_code)
        assert (marker in page_html) is allowed(role, row), (role, url, marker)


def test_a_role_that_does_not_see_billing_cannot_filter_by_it(world):
    url = reverse("contacts:list")
    owner = client_for(world.members[OWNER].user).get(url, {"billing": "paused"})
    assistant = client_for(world.members[ASSISTANT].user).get(url, {"billing": "paused"})
    assert "Barbara Person" in owner.content.decode()
    assert "Ada Person" not in owner.content.decode()
    assert "Ada Person" in assistant.content.decode()


# --- Offers: what an assistant's form leaves out ---------------------------------------


def test_an_assistant_edits_products_and_access_days_but_not_the_price(world):
    bootcamp = world.objects["bootcamp"]
    client = client_for(world.members[ASSISTANT].user)
    with transaction.atomic():
        response = client.post(
            reverse("products:offer_edit", args=[bootcamp.pk]),
            {
                "title": "Python Bootcamp",
                "products": [world.objects["basics"].pk, world.objects["advanced"].pk],
                "payment_type": "free",
                "price": "0.01",
                "interval": "year",
                "access_days": "30",
            },
        )
        assert response.status_code == 302
        bootcamp.refresh_from_db()
        assert (bootcamp.price, bootcamp.payment_type, bootcamp.interval) == (
            Decimal("299.00"),
            Offer.PaymentType.ONE_TIME,
            Offer.Interval.MONTH,
        )
        assert bootcamp.access_days == 30
        transaction.set_rollback(True)


def test_an_offer_an_assistant_creates_is_free_until_it_is_priced(world):
    client = client_for(world.members[ASSISTANT].user)
    with transaction.atomic():
        response = client.post(
            reverse("products:offer_create"),
            {
                "title": "Summer School",
                "products": [world.objects["basics"].pk],
                "payment_type": "one_time",
                "price": "500",
            },
        )
        assert response.status_code == 302
        offer = Offer.objects.get(site=world.site, title="Summer School")
        assert (offer.payment_type, offer.price) == (Offer.PaymentType.FREE, Decimal("0"))
        transaction.set_rollback(True)


# --- The audit trail names the member and their role at the time -----------------------


def test_the_activity_names_the_member_and_the_role_they_had(world):
    admin = world.members[ADMIN]
    ada, ada_grant = world.objects["ada"], world.objects["ada_grant"]
    with transaction.atomic():
        client = client_for(admin.user)
        response = client.post(reverse("contacts:revoke", args=[ada.pk, ada_grant.pk]), REASON)
        assert response.status_code == 302
        event = AccessEvent.objects.get(grant=ada_grant, kind=AccessEvent.Kind.REVOKED)
        assert (event.actor, event.actor_role) == (admin.user, ADMIN)
        SiteMembership.objects.filter(pk=admin.pk).update(role=ASSISTANT)
        for url in (reverse("purchases:activity"), reverse("contacts:activity", args=[ada.pk])):
            page_html = client_for(world.members[OWNER].user).get(url).content.decode()
            assert "Alex Admin (Administrator)" in page_html
            assert "Casey Creator (Owner)" in page_html
        transaction.set_rollback(True)


def test_a_bulk_action_records_the_role_of_the_member_who_started_it(
    world, django_capture_on_commit_callbacks
):
    assistant = world.members[ASSISTANT]
    grace = world.objects["grace"]
    client = client_for(assistant.user)
    with transaction.atomic():
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("bulk:start"),
                {"action": "grant_offer", "ids": [grace.pk], "offer": world.objects["coaching"].pk},
            )
        assert response.status_code == 302
        event = AccessEvent.objects.get(
            contact=grace, kind=AccessEvent.Kind.GRANTED, grant__offer=world.objects["coaching"]
        )
        assert (event.actor, event.actor_role, event.bulk_action.created_by) == (
            assistant.user,
            ASSISTANT,
            assistant.user,
        )
        transaction.set_rollback(True)


# --- The demo ------------------------------------------------------------------------


def test_the_demo_assistant_sees_only_what_an_assistant_may_use():
    call_command("seed_demo", contacts=0, stdout=open("/dev/null", "w"))
    team = get_user_model().objects.get(email="team@example.com")
    client = client_for(team)
    page_html = client.get(reverse("contacts:list")).content.decode()
    assert 'href="/offers/"' in page_html and 'href="/bulk-actions/"' in page_html
    assert 'href="/products/"' not in page_html and 'href="/automations/"' not in page_html
    assert ">Export CSV</button>" not in page_html
    assert client.get(reverse("products:list")).status_code == 403
    ada = Contact.objects.get(site__slug="demo-academy", email="ada@example.com")
    subscription = Subscription.objects.filter(grant__contact=ada).first()
    response = client.post(reverse("billing:cancel", args=[subscription.pk]), {"when": "now"})
    assert response.status_code == 403
    subscription.refresh_from_db()
    assert subscription.status != Subscription.Status.CANCELED
    chargeback = AccessEvent.objects.get(reason="Chargeback", kind=AccessEvent.Kind.REVOKED)
    assert chargeback.actor_role == ASSISTANT
    activity = client.get(reverse("contacts:activity", args=[chargeback.contact_id]))
    assert "Taylor Team (Assistant)" in activity.content.decode()
