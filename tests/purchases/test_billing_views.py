"""Cancel Payments, Pause Payments, Resume Payments and Stop cancellation from the
dashboard; the Automations tab; the labels on the contact's Purchases tab."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from contacts.services import add_tag, tag_get_or_create
from kajaccess.actors import Actor
from products.models import Offer
from purchases.access import selectors, services
from purchases.billing import runs as billing_runs
from purchases.billing import services as billing
from purchases.models import AccessEvent, Automation, Grant, Subscription
from tests.factories import (
    ContactFactory,
    MembershipFactory,
    OfferFactory,
    ProductFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

HTMX_DIALOG = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "dialog-slot"}
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver/contacts/1/"}


@pytest.fixture
def client(member):
    client = Client()
    client.force_login(member.user)
    return client


@pytest.fixture
def vault(site):
    return OfferFactory(
        site=site,
        title="Vault Membership",
        products=[ProductFactory(site=site, title="The Vault")],
        price=Decimal("29.00"),
        payment_type=Offer.PaymentType.SUBSCRIPTION,
    )


@pytest.fixture
def coaching(site):
    return OfferFactory(
        site=site,
        title="Coaching Plan",
        products=[ProductFactory(site=site, title="Coaching Calls")],
        price=Decimal("150.00"),
        payment_type=Offer.PaymentType.PAYMENT_PLAN,
        installments=3,
    )


def subscribe(offer, name="Ada Lovelace") -> Subscription:
    contact = ContactFactory(site=offer.site, name=name)
    grant = services.grant_offer(
        contact=contact,
        offer=offer,
        actor=Actor.customer(None),
        source=Grant.Source.PURCHASE,
        starts_at=timezone.now() - timedelta(days=3),
    ).obj
    billing_runs.run_billing()
    return Subscription.objects.select_related("grant__contact", "grant__offer").get(grant=grant)


@pytest.fixture
def ada(vault):
    return subscribe(vault)


def url(name, subscription):
    return reverse(f"billing:{name}", args=[subscription.pk])


def text(response) -> str:
    return " ".join(response.content.decode().split())


def day(days: int) -> str:
    return (timezone.localdate() + timedelta(days=days)).isoformat()


# --- The subscription as the dashboard shows it ---------------------------------------


def test_subscription_page_shows_billing_state(client, ada):
    response = client.get(url("subscription", ada))
    assert response.status_code == 200
    page = text(response)
    assert "Vault Membership" in page and "Ada Lovelace" in page
    assert "Active" in page
    assert "29.00 USD a month" in page
    assert f"Next billing</dt><dd>{ada.next_billing_at:%b} {ada.next_billing_at.day}," in page
    assert "Succeeded" in page
    assert "Pause Payments" in page and "Cancel Payments" in page
    assert "Resume Payments" not in page and "Stop cancellation" not in page


def test_a_revoked_customer_still_billing_is_told_so(client, member, ada):
    assert "payments continue" not in text(client.get(url("subscription", ada)))
    services.revoke_grant(grant=ada.grant, actor=Actor.creator(member.user), reason="Chargeback")
    page = text(client.get(url("subscription", ada)))
    assert "Access was revoked, but payments continue until you cancel them." in page
    assert "Cancel Payments" in page


def test_payment_plan_shows_installments(client, coaching):
    grace = subscribe(coaching, "Grace Hopper")
    page = text(client.get(url("subscription", grace)))
    assert "Payment plan" in page
    assert "1 of 3 paid" in page
    assert "150.00 USD a month" in page


@pytest.mark.parametrize(
    "who", ["anonymous", "customer", "other_site"], ids=["anonymous", "customer", "other site"]
)
def test_only_the_sites_team_sees_or_changes_a_subscription(ada, who):
    client = Client()
    if who == "customer":
        client.force_login(UserFactory())
    elif who == "other_site":
        client.force_login(MembershipFactory().user)
    expected = 302 if who == "anonymous" else 404
    assert client.get(url("subscription", ada)).status_code == expected
    assert client.get(url("cancel", ada)).status_code == expected
    for name in ("cancel", "pause", "resume"):
        response = client.post(url(name, ada), {"when": "now", "how": "indefinitely"})
        assert response.status_code == expected
    ada.refresh_from_db()
    assert ada.status == "active"
    assert not AccessEvent.objects.filter(kind__startswith="subscription_").exists()


def test_changes_are_post_only(client, ada):
    assert client.get(url("resume", ada)).status_code == 405
    assert client.get(url("stop_cancellation", ada)).status_code == 405
    assert client.put(url("cancel", ada)).status_code == 405
    assert client.delete(url("pause", ada)).status_code == 405


def test_csrf_is_required(member, ada):
    client = Client(enforce_csrf_checks=True)
    client.force_login(member.user)
    assert client.post(url("cancel", ada), {"when": "now"}).status_code == 403
    ada.refresh_from_db()
    assert ada.status == "active"


def test_the_partial_runs_fixed_queries_through_contact_grants(
    vault, django_assert_num_queries, django_assert_max_num_queries
):
    def render_all(contact):
        return [
            render_to_string(
                "purchases/partials/subscription.html", {"subscription": grant.subscription}
            )
            for grant in selectors.contact_grants(contact)
            if getattr(grant, "subscription", None)
        ]

    one = subscribe(vault).grant.contact
    with django_assert_max_num_queries(4) as counted:
        assert len(render_all(one)) == 1
    many = ContactFactory(site=vault.site)
    for n in range(4):
        offer = OfferFactory(
            site=vault.site, price=Decimal("9"), payment_type=Offer.PaymentType.SUBSCRIPTION
        )
        services.grant_offer(
            contact=many,
            offer=offer,
            actor=Actor.customer(None),
            source=Grant.Source.PURCHASE,
            starts_at=timezone.now() - timedelta(days=40 * n),
        )
    for _ in range(3):
        billing_runs.run_billing(now=timezone.now() + timedelta(days=200))
    with django_assert_num_queries(len(counted.captured_queries)):
        rendered = render_all(many)
    assert len(rendered) == 4
    assert all(r.count("payments__item") == 3 for r in rendered)


# --- Cancel Payments ------------------------------------------------------------------


def test_cancel_payments_popup(client, ada):
    response = client.get(url("cancel", ada), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    page = text(response)
    assert page.startswith('<dialog class="dialog" data-autoshow')
    assert "Cancel payments for “Vault Membership”?" in page
    assert "End of the current billing period (" in page
    assert "On a custom date" in page and "Cancel now" in page
    assert "Keep payments" in page
    # Without JavaScript: the same form on a page of its own.
    page = text(client.get(url("cancel", ada)))
    assert "<html" in page and "Cancel payments for “Vault Membership”?" in page


def test_cancel_at_period_end_from_the_popup(client, ada):
    response = client.post(url("cancel", ada), {"when": "period_end"}, **HTMX_DIALOG)
    assert response.status_code == 200
    page = text(response)
    assert f'id="subscription-{ada.pk}" hx-swap-oob="outerHTML"' in page
    assert "Cancellation pending" in page
    assert "Stop cancellation" in page
    assert "Payments for “Vault Membership” will stop on" in page  # the message
    assert "closeDialog" in response["HX-Trigger"]
    assert "accessChanged" in response["HX-Trigger"]
    ada.refresh_from_db()
    assert ada.cancel_at == ada.next_billing_at


def test_cancel_on_a_date_without_javascript_goes_back(client, ada):
    back = reverse("contacts:list")
    response = client.post(url("cancel", ada), {"when": "date", "on": day(20), "next": back})
    assert response.status_code == 302
    assert response["Location"] == back
    ada.refresh_from_db()
    assert ada.cancel_at.date() == timezone.localdate() + timedelta(days=20)
    page = text(client.get(url("subscription", ada)))
    assert "will stop on" in page and "Cancellation pending" in page


def test_an_outside_next_is_not_followed(client, ada):
    response = client.post(url("cancel", ada), {"when": "now", "next": "https://evil.example/"})
    assert response["Location"] == url("subscription", ada)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"when": "date"}, "Pick the date on which the payments should stop."),
        ({"when": "date", "on": "2026-02-30"}, "Enter a real date"),
        ({"when": "date", "on": "yesterday"}, "Enter a real date"),
        ({"when": "date", "on": "2020-01-01"}, "Pick a date after today"),
        ({"when": "sometime"}, "Choose when the payments should stop."),
        ({}, "Choose when the payments should stop."),
    ],
)
def test_cancel_with_bad_input_says_so_and_changes_nothing(client, ada, data, message):
    response = client.post(url("cancel", ada), data, **HTMX_DIALOG)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert response["HX-Retarget"] == "#dialog-slot"
    assert "<dialog" in response.content.decode()
    response = client.post(url("cancel", ada), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    ada.refresh_from_db()
    assert (ada.status, ada.cancel_at) == ("active", None)


def test_cancel_now_ends_access_and_the_purchases_tab_reads_revoked(client, ada):
    response = client.post(url("cancel", ada), {"when": "now"}, **HTMX_DIALOG)
    assert response.status_code == 200
    page = text(response)
    assert "Canceled" in page and "Cancel Payments" not in page
    assert "access through it has ended" in page
    grant = selectors.contact_grants(ada.grant.contact).get()
    state = selectors.access_status(grant)
    assert (state.label, state.revoked_by) == ("Access revoked", "Revoked")


def test_stop_cancellation_in_place(client, ada):
    billing.cancel_subscription(subscription=ada, actor=Actor.system())
    response = client.post(url("stop_cancellation", ada), **HTMX)
    assert response.status_code == 200
    page = text(response)
    assert page.startswith(
        f'<div class="subscription subscription--active" id="subscription-{ada.pk}">'
    )
    assert 'hx-swap-oob="outerHTML"' not in page.split("</div>")[0]
    assert "Cancellation stopped" in page
    assert "Stop cancellation" not in page
    # The buttons still send people back to the page they were on.
    assert "next=/contacts/1/" in page or "next=%2Fcontacts%2F1%2F" in page
    ada.refresh_from_db()
    assert ada.cancel_at is None


# --- Pause and resume -----------------------------------------------------------------


def test_pause_indefinitely_then_resume(client, ada):
    popup = text(client.get(url("pause", ada), HTTP_HX_REQUEST="true"))
    assert "Pause payments for “Vault Membership”?" in popup
    assert "Pause indefinitely" in popup and "Pause until" in popup

    response = client.post(url("pause", ada), {"how": "indefinitely"}, **HTMX_DIALOG)
    page = text(response)
    assert "Paused" in page and "until resumed" in page
    assert "Resume Payments" in page and "Pause Payments" not in page
    ada.refresh_from_db()
    assert ada.status == "paused"
    assert selectors.access_status(selectors.contact_grants(ada.grant.contact).get()) is None

    response = client.post(url("resume", ada), **HTMX)
    assert response.status_code == 200
    page = text(response)
    assert "Payments for “Vault Membership” resumed." in page
    assert "Pause Payments" in page
    ada.refresh_from_db()
    assert ada.status == "active"


def test_pause_until_a_date_without_javascript(client, ada):
    response = client.post(url("pause", ada), {"how": "until", "until": day(30)})
    assert response.status_code == 302
    ada.refresh_from_db()
    assert ada.paused_until.date() == timezone.localdate() + timedelta(days=30)
    page = text(client.get(response["Location"]))
    assert "paused until" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"how": "until"}, "Pick the date to pause until."),
        ({"how": "until", "until": day(0)}, "Pick a date after today"),
        ({"how": "until", "until": "someday"}, "Enter a real date"),
        ({"how": "forever"}, "Choose how long to pause."),
    ],
)
def test_pause_with_bad_input_says_so_and_changes_nothing(client, ada, data, message):
    response = client.post(url("pause", ada), data, **HTMX_DIALOG)
    assert response.status_code == 400
    assert message in response.content.decode()
    ada.refresh_from_db()
    assert ada.status == "active"


def test_resume_a_canceled_subscription_is_refused(client, ada):
    billing.end_subscription(subscription=ada, actor=Actor.system())
    response = client.post(url("resume", ada), **HTMX)
    assert response.status_code == 400
    assert response["HX-Reswap"] == "outerHTML"
    assert "were already canceled" in response.content.decode()
    response = client.post(url("resume", ada))
    assert response.status_code == 400
    assert "were already canceled" in response.content.decode()


# --- Automations tab ------------------------------------------------------------------


@pytest.fixture
def bootcamp(site):
    return OfferFactory(site=site, title="Python Bootcamp", products=[ProductFactory(site=site)])


def test_automations_page(client, site, bootcamp, django_assert_max_num_queries):
    OfferFactory(site=site, title="Old Offer", deleted_at=timezone.now())
    OfferFactory(title="Another School's Offer")
    tag_get_or_create(site=site, name="Refund requested")
    response = client.get(reverse("automations:list"))
    assert response.status_code == 200
    assert response.context["active_tab"] == "automations"
    page = text(response)
    assert "No automations yet" in page
    assert "Python Bootcamp" in page
    assert "Old Offer" not in page and "Another School" not in page
    assert '<option value="Refund requested">' in page

    refund = tag_get_or_create(site=site, name="Refund requested")
    for _ in range(6):
        Automation.objects.create(
            site=site,
            trigger="tag_added",
            trigger_tag=refund,
            action="revoke_offer",
            offer=bootcamp,
        )
    with django_assert_max_num_queries(10):
        page = text(client.get(reverse("automations:list")))
    assert page.count('<li class="item automation"') == 6


def test_create_an_automation(client, site, bootcamp):
    response = client.post(
        reverse("automations:list"),
        {
            "trigger": "tag_added",
            "tag_name": "Refund requested",
            "action": "revoke_offer",
            "offer": bootcamp.pk,
        },
        follow=True,
    )
    page = text(response)
    assert (
        "Automation created: When tag “Refund requested” is added, revoke “Python Bootcamp”."
        in page
    )
    automation = Automation.objects.get()
    assert (automation.site, automation.trigger_tag.name, automation.active) == (
        site,
        "Refund requested",
        True,
    )
    assert "Active" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"trigger": "tag_added", "action": "revoke_offer"}, "Choose the tag"),
        ({"trigger": "payment_failed", "action": "revoke_offer"}, "Choose the offer that sets"),
        ({"trigger": "tag_added", "tag_name": "VIP", "action": "email"}, "Choose what"),
        ({"trigger": "offer_granted", "action": "grant_offer", "trigger_offer": "foreign"}, ""),
        ({"trigger": "offer_granted", "action": "grant_offer", "trigger_offer": "same"}, ""),
    ],
)
def test_create_refuses_bad_input(client, site, bootcamp, data, message):
    foreign = OfferFactory(title="Another School's Offer")
    data = {"offer": bootcamp.pk, **data}
    if data.get("trigger_offer") == "foreign":
        data["trigger_offer"], message = foreign.pk, "Choose one of your live offers."
    if data.get("trigger_offer") == "same":
        data["trigger_offer"], message = bootcamp.pk, "cannot grant or revoke the offer"
    response = client.post(reverse("automations:list"), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Automation.objects.exists()


def test_pause_resume_and_delete_an_automation(client, site, bootcamp):
    refund = tag_get_or_create(site=site, name="Refund requested")
    automation = Automation.objects.create(
        site=site, trigger="tag_added", trigger_tag=refund, action="revoke_offer", offer=bootcamp
    )
    pause = reverse("automations:pause", args=[automation.pk])
    assert client.get(pause).status_code == 405
    page = text(client.post(pause, HTTP_HX_REQUEST="true"))
    assert page.startswith(
        f'<li class="item automation automation--paused" id="automation-{automation.pk}">'
    )
    assert "Paused" in page and "Automation paused" in page
    automation.refresh_from_db()
    assert not automation.active

    resume = reverse("automations:resume", args=[automation.pk])
    response = client.post(resume)
    assert response.status_code == 302
    automation.refresh_from_db()
    assert automation.active

    delete = reverse("automations:delete", args=[automation.pk])
    popup = text(client.get(delete, HTTP_HX_REQUEST="true"))
    assert "Delete this automation?" in popup
    assert "When tag “Refund requested” is added, revoke “Python Bootcamp”." in popup
    response = client.post(delete, **HTMX_DIALOG)
    page = text(response)
    assert f'id="automation-{automation.pk}" hx-swap-oob="delete"' in page
    assert "Automation deleted" in page
    assert not Automation.objects.exists()


def test_another_sites_automation_is_a_404(client, bootcamp):
    other = MembershipFactory().site
    tag = tag_get_or_create(site=other, name="VIP")
    theirs = Automation.objects.create(
        site=other,
        trigger="tag_added",
        trigger_tag=tag,
        action="grant_offer",
        offer=OfferFactory(site=other),
    )
    for name in ("pause", "delete"):
        assert client.post(reverse(f"automations:{name}", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.active


# --- The contact's Purchases tab ------------------------------------------------------


def purchases_tab(client, contact) -> str:
    response = client.get(reverse("contacts:purchases", args=[contact.pk]))
    assert response.status_code == 200
    return text(response)


def access_status_row(page: str) -> str:
    """The words of the Purchases tab's `Access status` row, without markup."""
    row = re.search(r"<dt>Access status</dt>\s*<dd>(.*?)</dd>", page)
    assert row, "no Access status row"
    return " ".join(re.sub(r"<[^>]+>", " ", row.group(1)).split())


def test_purchases_tab_reads_revoked_by_automation(
    client, site, member, bootcamp, django_capture_on_commit_callbacks
):
    refund = tag_get_or_create(site=site, name="Refund requested")
    Automation.objects.create(
        site=site, trigger="tag_added", trigger_tag=refund, action="revoke_offer", offer=bootcamp
    )
    ada = ContactFactory(site=site)
    services.grant_offer(contact=ada, offer=bootcamp, actor=Actor.creator(member.user))
    with django_capture_on_commit_callbacks(execute=True):
        add_tag(tag=refund, contact_ids=[ada.pk], actor=Actor.creator(member.user))
    row = access_status_row(purchases_tab(client, ada))
    assert row.startswith("Access revoked · Revoked by automation")


def test_purchases_tab_reads_revoked_after_expiry(client, site, member):
    trial = OfferFactory(
        site=site,
        title="30-Day Trial",
        products=[ProductFactory(site=site)],
        price=Decimal("0"),
        payment_type=Offer.PaymentType.FREE,
        access_days=30,
    )
    alan = ContactFactory(site=site)
    services.grant_offer(
        contact=alan,
        offer=trial,
        actor=Actor.creator(member.user),
        starts_at=timezone.now() - timedelta(days=31),
    )
    # Before the sweep and after it: the same words.
    for _ in range(2):
        row = access_status_row(purchases_tab(client, alan))
        assert row.startswith("Access revoked · Revoked")
        assert "Revoked by" not in row
        billing_runs.process_access()
    assert Grant.objects.get(contact=alan).revoked_via == "expiry"


def test_purchases_tab_reads_revoked_after_cancellation(client, ada):
    assert "Access status" not in purchases_tab(client, ada.grant.contact)
    client.post(url("cancel", ada), {"when": "now"})
    page = purchases_tab(client, ada.grant.contact)
    row = access_status_row(page)
    assert row.startswith("Access revoked · Revoked")
    assert "Revoked by" not in row
    assert "Canceled" in page


# --- Support admin ----------------------------------------------------------------------


def test_support_changes_billing_only_through_the_admin_actions(ada):
    support = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(support)
    change = reverse("admin:purchases_subscription_change", args=[ada.pk])
    page = client.get(change)
    assert page.status_code == 200
    assert 'name="status"' not in page.content.decode()

    changelist = reverse("admin:purchases_subscription_changelist")
    response = client.post(
        changelist, {"action": "pause", "_selected_action": [ada.pk]}, follow=True
    )
    assert "Changed 1 subscription." in text(response)
    ada.refresh_from_db()
    assert ada.status == "paused"

    client.post(changelist, {"action": "cancel_now", "_selected_action": [ada.pk]})
    ada.refresh_from_db()
    assert ada.status == "canceled"
    canceled = AccessEvent.objects.get(kind=AccessEvent.Kind.SUBSCRIPTION_CANCELED)
    assert (canceled.actor_kind, canceled.actor) == ("support", support)
    grant = Grant.objects.get(pk=ada.grant_id)
    assert (grant.status, grant.revoked_via) == ("revoked", "cancellation")

    response = client.post(
        changelist, {"action": "resume", "_selected_action": [ada.pk]}, follow=True
    )
    assert "were already canceled" in text(response)


def test_a_past_due_subscription_says_its_period_is_over(client, site):
    declines = ContactFactory(site=site, name="Edsger Dijkstra", test_card_declines=True)
    vault = OfferFactory(
        site=site, title="Vault", price=Decimal("29"), payment_type=Offer.PaymentType.SUBSCRIPTION
    )
    grant = services.grant_offer(
        contact=declines,
        offer=vault,
        actor=Actor.customer(None),
        source=Grant.Source.PURCHASE,
        starts_at=timezone.now() - timedelta(days=2),
    ).obj
    billing_runs.run_billing()
    subscription = Subscription.objects.get(grant=grant)
    assert subscription.display_status == "Past due"
    popup = text(client.get(url("cancel", subscription), HTTP_HX_REQUEST="true"))
    assert "End of the current billing period (already over: ends now)" in popup
    page = text(client.get(url("subscription", subscription)))
    assert "Past due" in page and "The last payment failed" in page
