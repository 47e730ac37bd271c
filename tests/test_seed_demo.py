import ast
from collections import defaultdict
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command
from django.test import RequestFactory
from django.utils import timezone

from contacts.models import Contact
from kajaccess.actors import ActorKind
from kajaccess.models import Site, SiteMembership
from products.models import Offer, Product
from purchases.access import selectors
from purchases.billing.gateways import TestGateway
from purchases.billing.runs import process_access, run_billing
from purchases.models import (
    AccessEvent,
    AccessStatus,
    Grant,
    Payment,
    ProductAccess,
    RevokedVia,
    Subscription,
)
from purchases.signals import offer_granted

pytestmark = pytest.mark.django_db

PROJECT_APPS = ["kajaccess", "contacts", "products", "purchases"]


def seed(*args):
    call_command("seed_demo", *args, stdout=StringIO())


def row_counts():
    models = [m for app in PROJECT_APPS for m in apps.get_app_config(app).get_models()]
    return {m.__name__: m.objects.count() for m in [get_user_model(), *models]}


def academy_contact(email):
    return Contact.objects.get(site__slug="demo-academy", email=email)


@pytest.fixture
def seeded():
    seed("--contacts", "20")


def test_a_second_run_creates_nothing_twice(seeded):
    before = row_counts()
    seed("--contacts", "20")
    assert row_counts() == before
    assert before["Contact"] == 5 + 20 + 3
    assert before["AccessEvent"] > 0


def test_contacts_option_adds_that_many_generated_contacts():
    seed("--contacts", "0")
    academy = Site.objects.get(slug="demo-academy")
    assert academy.contacts.count() == 5
    seed("--contacts", "50")
    generated = academy.contacts.filter(email__startswith="customer").order_by("email")
    assert generated.count() == 50
    assert generated.first().email == "customer000001@example.com"
    assert generated.last().email == "customer000050@example.com"


def test_generated_contacts_are_the_same_on_every_build():
    seed("--contacts", "30")

    def snapshot():
        return sorted(
            Contact.objects.filter(email__startswith="customer").values_list(
                "email", "name", "grants__offer__title", "grants__status", "grants__revoked_via"
            )
        )

    first = snapshot()
    seed("--reset", "--contacts", "30")
    assert snapshot() == first


def test_generated_contacts_have_a_spread_of_states():
    seed()  # the default 200 show every state
    generated = Grant.objects.filter(contact__email__startswith="customer")
    assert {"creator", "support", "automation", "expiry", "cancellation"} <= set(
        generated.values_list("revoked_via", flat=True)
    )
    assert generated.filter(product_accesses__status=AccessStatus.REVOKED).exists()
    statuses = set(
        Subscription.objects.filter(grant__in=generated).values_list("status", flat=True)
    )
    assert {"active", "paused", "past_due", "canceled"} <= statuses
    tagged = set(
        Contact.objects.filter(email__startswith="customer").values_list("tags__name", flat=True)
    )
    assert {"VIP", "Trial", "Refund requested"} <= tagged
    # Every revoke is in the audit trail, with who did it.
    for grant in generated.filter(status=AccessStatus.REVOKED):
        event = grant.events.get(kind=AccessEvent.Kind.REVOKED)
        assert event.actor_kind == grant.revoked_via
        assert event.reason == grant.revoke_reason
    now = timezone.now()
    billing = Subscription.objects.filter(status__in=["active", "paused"])
    assert not billing.filter(next_billing_at__lte=now).exists()
    # A past-due subscription waits on its declined billing date, as the billing run left it.
    for subscription in Subscription.objects.filter(status="past_due"):
        assert subscription.next_billing_at <= now
        assert subscription.payments.get(status="failed").due_at == subscription.next_billing_at
        assert subscription.grant.contact.test_card_declines


def test_the_first_billing_run_after_the_seed_takes_no_money():
    seed()
    paid = Payment.objects.filter(status="succeeded").count()
    run = run_billing(gateway=TestGateway())
    assert (run.charged, run.completed) == (0, 0)
    assert Payment.objects.filter(status="succeeded").count() == paid
    sweep = process_access()
    assert (sweep.expired, sweep.canceled) == (0, 0)


def test_reset_rebuilds_the_demo_from_scratch(seeded):
    edsger = academy_contact("edsger@example.com")
    Contact.objects.filter(site__slug="demo-academy", email="ada@example.com").delete()
    seed("--reset", "--contacts", "20")
    assert academy_contact("ada@example.com").name == "Ada Lovelace"
    assert not Contact.objects.filter(pk=edsger.pk).exists()
    assert get_user_model().objects.filter(username="creator@example.com").count() == 1


def test_negative_contacts_is_refused():
    with pytest.raises(CommandError, match="cannot be negative"):
        seed("--contacts", "-1")


def test_every_demo_login_signs_in_with_its_email(seeded):
    for email in [
        "creator@example.com",
        "team@example.com",
        "support@example.com",
        "ada@example.com",
        "other@example.com",
    ]:
        # As the sign-in page asks: the throttle needs the request it counts failures of.
        sign_in = RequestFactory().post("/accounts/login/")
        user = authenticate(sign_in, username=email, password="kajaccess-demo")
        assert user is not None, email
        assert user.username == email
    assert get_user_model().objects.get(username="creator@example.com").get_full_name() == (
        "Casey Creator"
    )


def test_schools_and_their_teams(seeded):
    academy = Site.objects.get(name="Demo Academy")
    roles = dict(academy.memberships.values_list("user__email", "role"))
    assert roles == {
        "creator@example.com": SiteMembership.Role.OWNER,
        "team@example.com": SiteMembership.Role.ASSISTANT,
        "va@example.com": SiteMembership.Role.SUPPORT,
    }
    other = Site.objects.get(name="Other School")
    assert dict(other.memberships.values_list("user__email", "role")) == {
        "other@example.com": SiteMembership.Role.OWNER,
        "va@example.com": SiteMembership.Role.ASSISTANT,
    }
    assert other.contacts.get(email="ada@other.example").name == "Ada Lovelace"

    support = get_user_model().objects.get(email="support@example.com")
    assert support.is_staff and not support.is_superuser
    assert not support.memberships.exists()
    assert support.has_perm("purchases.change_grant")
    assert support.has_perm("purchases.view_accessevent")
    assert not support.has_perm("purchases.change_accessevent")
    assert not support.has_perm("purchases.delete_grant")


def test_catalogue_of_demo_academy(seeded):
    academy = Site.objects.get(slug="demo-academy")
    products = {p.title: (p.kind, p.lessons.count()) for p in Product.objects.filter(site=academy)}
    assert products == {
        "Python Basics": ("course", 5),
        "Advanced Python": ("course", 4),
        "Community Vault": ("community", 0),
        "Coaching Calls": ("coaching", 0),
    }
    offers = {o.title: o for o in Offer.objects.filter(site=academy)}
    assert set(offers) == {
        "Python Bootcamp",
        "Vault Membership",
        "Coaching Plan",
        "30-Day Trial",
        "Legacy Bundle",
    }

    def summary(title):
        o = offers[title]
        return (
            o.payment_type,
            int(o.price),
            sorted(o.products.values_list("title", flat=True)),
            o.is_deleted,
        )

    assert summary("Python Bootcamp") == (
        "one_time",
        299,
        ["Advanced Python", "Python Basics"],
        False,
    )
    assert summary("Vault Membership") == ("subscription", 29, ["Community Vault"], False)
    assert offers["Vault Membership"].interval == "month"
    assert summary("Coaching Plan") == ("payment_plan", 150, ["Coaching Calls"], False)
    assert offers["Coaching Plan"].installments == 3
    assert summary("30-Day Trial") == ("free", 0, ["Python Basics"], False)
    assert offers["30-Day Trial"].access_days == 30
    assert summary("Legacy Bundle")[::2] == ("one_time", ["Advanced Python"])
    assert offers["Legacy Bundle"].is_deleted


def products_of(contact):
    return {cp.product.title: cp for cp in selectors.contact_products(contact)}


def test_ada_bought_the_bootcamp_and_has_an_active_membership(seeded):
    ada = academy_contact("ada@example.com")
    assert ada.name == "Ada Lovelace"
    assert ada.user.email == "ada@example.com"
    assert [p.title for p in selectors.library_products(ada)] == [
        "Advanced Python",
        "Community Vault",
        "Python Basics",
    ]
    basics = products_of(ada)["Python Basics"]
    assert (basics.lessons_done, basics.lessons_total) == (3, 5)
    bootcamp = ada.grants.get(offer__title="Python Bootcamp")
    assert bootcamp.source == Grant.Source.PURCHASE
    assert int(bootcamp.purchase.amount) == 299
    vault = ada.grants.get(offer__title="Vault Membership").subscription
    assert vault.status == Subscription.Status.ACTIVE
    assert vault.next_billing_at > timezone.now()
    assert vault.payments.filter(status="succeeded").count() == vault.installments_paid >= 2
    assert "VIP" in ada.tags.values_list("name", flat=True)
    assert ada.access_events.filter(kind=AccessEvent.Kind.GRANTED).count() == 2


def test_grace_has_a_coaching_plan_with_one_installment_paid(seeded):
    grace = academy_contact("grace@example.com")
    plan = grace.grants.get(offer__title="Coaching Plan").subscription
    assert (plan.installments_paid, plan.installments_total) == (1, 3)
    assert plan.is_billing and plan.next_billing_at > timezone.now()
    assert plan.payments.filter(status="succeeded").count() == 1
    assert set(selectors.library_products(grace).values_list("title", flat=True)) == {
        "Python Basics",
        "Advanced Python",
        "Coaching Calls",
    }


def test_alans_trial_expired(seeded):
    alan = academy_contact("alan@example.com")
    trial = alan.grants.get(offer__title="30-Day Trial")
    assert trial.starts_at.date() == (timezone.now() - timezone.timedelta(days=40)).date()
    assert (trial.status, trial.revoked_via) == (AccessStatus.REVOKED, RevokedVia.EXPIRY)
    state = selectors.access_status(trial)
    assert (state.label, state.revoked_by) == ("Access revoked", "Revoked")
    assert list(selectors.library_products(alan)) == []
    assert products_of(alan)["Python Basics"].state == "expired"


def test_katherine_keeps_advanced_python_from_a_deleted_offer(seeded):
    katherine = academy_contact("katherine@example.com")
    grant = katherine.grants.get()
    assert grant.offer.title == "Legacy Bundle" and grant.offer.is_deleted
    assert [p.title for p in selectors.library_products(katherine)] == ["Advanced Python"]
    assert selectors.access_status(grant) is None


def test_edsger_was_revoked_by_the_team_for_a_chargeback_and_still_pays(seeded):
    edsger = academy_contact("edsger@example.com")
    grant = selectors.contact_grants(edsger).get(offer__title="Vault Membership")
    state = selectors.access_status(grant)
    assert (state.label, state.revoked_by, state.reason) == (
        "Access revoked",
        "Revoked by team@example.com",
        "Chargeback",
    )
    assert grant.subscription.is_billing
    event = grant.events.get(kind=AccessEvent.Kind.REVOKED)
    assert (event.actor.email, event.actor_kind, event.reason) == (
        "team@example.com",
        "creator",
        "Chargeback",
    )
    assert list(selectors.library_products(edsger)) == []


def test_a_demo_the_creator_has_changed_still_starts(seeded):
    Product.objects.filter(title="Python Basics").update(title="Python for Everyone")
    seed("--contacts", "20")  # nothing to add: `make run` starts as before
    with pytest.raises(CommandError, match="no longer has Python Basics.*--reset"):
        seed("--contacts", "21")
    seed("--reset", "--contacts", "21")
    assert Contact.objects.filter(email__startswith="customer").count() == 21


def events_by_grant():
    trail = defaultdict(list)
    for event in AccessEvent.objects.order_by("at", "pk"):
        trail[event.grant_id].append(event)
    return trail


def last_of(trail, *kinds, product=None):
    matching = [e for e in trail if e.kind in kinds and e.product_id == product]
    return matching[-1] if matching else None


def test_the_demo_holds_only_what_the_services_write(django_capture_on_commit_callbacks):
    announced = []

    def listener(sender, grant_ids, **kwargs):
        announced.extend(grant_ids)

    offer_granted.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            seed()
    finally:
        offer_granted.disconnect(listener)
    # The grant service tells the automations about every grant it makes.
    assert sorted(announced) == sorted(Grant.objects.values_list("pk", flat=True))
    trail = events_by_grant()
    grants_match_their_audit_trail(trail)
    product_accesses_match_their_audit_trail(trail)
    billing_matches_what_the_billing_run_and_services_left(trail)


def grants_match_their_audit_trail(trail):
    for grant in Grant.objects.select_related("offer"):
        (granted,) = [e for e in trail[grant.pk] if e.kind == AccessEvent.Kind.GRANTED]
        assert (granted.at, granted.actor_id, granted.contact_id) == (
            grant.created_at,
            grant.granted_by_id,
            grant.contact_id,
        )
        buyer = ActorKind.CUSTOMER if grant.source == Grant.Source.PURCHASE else ActorKind.CREATOR
        assert granted.actor_kind == buyer
        assert granted.details == {
            "offer": grant.offer.title,
            "source": grant.source,
            "expires_at": grant.expires_at.isoformat() if grant.expires_at else None,
        }
        change = last_of(trail[grant.pk], AccessEvent.Kind.REVOKED, AccessEvent.Kind.RESTORED)
        if grant.status == AccessStatus.REVOKED:
            assert change.kind == AccessEvent.Kind.REVOKED
            assert (change.at, change.actor_id, change.actor_kind, change.reason) == (
                grant.revoked_at,
                grant.revoked_by_id,
                grant.revoked_via,
                grant.revoke_reason,
            )
            assert change.details == {
                "status": ["active", "revoked"],
                "revoked_via": grant.revoked_via,
            }
        else:
            assert change is None or change.kind == AccessEvent.Kind.RESTORED


def product_accesses_match_their_audit_trail(trail):
    accesses = ProductAccess.objects.all()
    assert accesses.filter(status=AccessStatus.REVOKED).exists()
    for access in accesses:
        change = last_of(
            trail[access.grant_id],
            AccessEvent.Kind.PRODUCT_REVOKED,
            AccessEvent.Kind.PRODUCT_RESTORED,
            product=access.product_id,
        )
        if access.status == AccessStatus.REVOKED:
            assert change.kind == AccessEvent.Kind.PRODUCT_REVOKED
            assert (change.at, change.actor_id, change.reason, change.details["revoked_via"]) == (
                access.revoked_at,
                access.revoked_by_id,
                access.revoke_reason,
                access.revoked_via,
            )
        else:
            assert change is None or change.kind == AccessEvent.Kind.PRODUCT_RESTORED


def billing_matches_what_the_billing_run_and_services_left(trail):
    purchase = Grant.objects.filter(source=Grant.Source.PURCHASE).select_related("offer")
    for grant in purchase.filter(offer__payment_type=Offer.PaymentType.ONE_TIME):
        assert (grant.purchase.amount, grant.purchase.purchased_at) == (
            grant.offer.price,
            grant.starts_at,
        )
    assert not purchase.filter(
        offer__payment_type=Offer.PaymentType.SUBSCRIPTION, subscription__isnull=True
    ).exists()
    subscriptions = Subscription.objects.prefetch_related("payments")
    for sub in subscriptions:
        events = trail[sub.grant_id]
        payments = sorted(sub.payments.all(), key=lambda p: (p.at, p.pk))
        paid = [p for p in payments if p.status == Payment.Status.SUCCEEDED]
        assert sub.installments_paid == len(paid)
        charged = [
            (e.at, e.kind, e.details["due_at"])
            for e in events
            if e.kind in (AccessEvent.Kind.PAYMENT_SUCCEEDED, AccessEvent.Kind.PAYMENT_FAILED)
        ]
        assert charged == [(p.at, f"payment_{p.status}", p.due_at.isoformat()) for p in payments]
        billing_state_matches_its_latest_event(sub, events, payments)


def billing_state_matches_its_latest_event(sub, events, payments):
    Kind, Status = AccessEvent.Kind, Subscription.Status
    pause = last_of(events, Kind.SUBSCRIPTION_PAUSED, Kind.SUBSCRIPTION_RESUMED)
    schedule = last_of(events, Kind.CANCELLATION_SCHEDULED, Kind.CANCELLATION_STOPPED)
    if sub.status == Status.CANCELED:
        ended = last_of(events, Kind.SUBSCRIPTION_CANCELED)
        assert (ended.at, ended.details["cancel_at"]) == (
            sub.canceled_at,
            sub.cancel_at.isoformat(),
        )
        assert sub.grant.revoked_via == RevokedVia.CANCELLATION
    elif sub.status == Status.PAUSED:
        assert pause.kind == Kind.SUBSCRIPTION_PAUSED
        assert pause.details["paused_until"][1] == sub.paused_until.isoformat()
    elif sub.status == Status.PAST_DUE:
        assert payments[-1].status == Payment.Status.FAILED
    elif sub.status == Status.COMPLETED:
        assert last_of(events, Kind.PLAN_COMPLETED) is not None
        assert sub.installments_paid == sub.installments_total
    if sub.cancel_at is not None and sub.status != Status.CANCELED:
        assert schedule.kind == Kind.CANCELLATION_SCHEDULED
        assert schedule.details["cancel_at"][1] == sub.cancel_at.isoformat()


DEMO = Path(__file__).resolve().parent.parent / "kajaccess" / "demo"
WRITTEN_BY_SERVICES = {
    "Grant",
    "ProductAccess",
    "Purchase",
    "Subscription",
    "Payment",
    "AccessEvent",
}
WRITES = {"create", "bulk_create", "update", "bulk_update", "get_or_create", "update_or_create"}


def writes_of(path: Path):
    """The lines where a module builds, creates or updates a row of these models."""
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Name) and node.func.id in WRITTEN_BY_SERVICES:
            yield node.lineno
        elif isinstance(node.func, ast.Attribute) and node.func.attr in WRITES:
            base = node.func.value
            while isinstance(base, ast.Attribute | ast.Call):
                base = base.func if isinstance(base, ast.Call) else base.value
            if isinstance(base, ast.Name) and base.id in WRITTEN_BY_SERVICES:
                yield node.lineno


def test_the_demo_builder_writes_access_billing_and_audit_rows_only_through_the_services():
    modules = sorted(DEMO.glob("*.py"))
    assert len(modules) > 3
    for path in modules:
        assert list(writes_of(path)) == [], path.name


def test_a_demo_whose_offer_was_deleted_is_rebuilt_rather_than_extended(seeded):
    Offer.objects.filter(title="Vault Membership").update(deleted_at=timezone.now())
    with pytest.raises(CommandError, match="no longer has Vault Membership.*--reset"):
        seed("--contacts", "21")
    assert Contact.objects.filter(email__startswith="customer").count() == 20


def test_vera_signs_in_like_every_demo_login(seeded):
    vera = get_user_model().objects.get(email="va@example.com")
    assert (vera.first_name, vera.last_name) == ("Vera", "Assistant")
    assert vera.check_password("kajaccess-demo")
