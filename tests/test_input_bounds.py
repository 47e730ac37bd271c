"""What a creator types is held to bounds they can read, and a change that succeeded stays one."""

import logging
import smtplib

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from contacts.models import Tag
from kajaccess.actors import Actor
from products.models import Offer, Product
from purchases.access import services
from purchases.models import AccessEvent, BulkAction, Grant
from tests.academy import build_academy
from tests.factories import ContactFactory, OfferFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
# Ten lines that fill a 500-character textarea: the browser counts each break as one
# character and sends it as two.
TEN_LINES = "\r\n".join(["x" * 49] * 10) + "x"


@pytest.fixture
def academy():
    return build_academy()


@pytest.fixture
def creator_client(client, academy):
    client.force_login(academy.creator)
    return client


def test_a_reason_that_fits_the_textarea_is_taken_with_its_line_breaks(creator_client, academy):
    assert len(TEN_LINES) == 509 and len(TEN_LINES.replace("\r\n", "\n")) == 500
    args = [academy.ada.pk, academy.bootcamp_grant.pk, academy.advanced.pk]
    response = creator_client.post(
        reverse("contacts:revoke_product", args=args), {"reason": TEN_LINES}, **HTMX
    )
    assert response.status_code == 200
    event = AccessEvent.objects.get(kind=AccessEvent.Kind.PRODUCT_REVOKED)
    assert event.reason == TEN_LINES.replace("\r\n", "\n")


def test_one_character_more_is_refused_counting_line_breaks_as_one(creator_client, academy):
    args = [academy.ada.pk, academy.bootcamp_grant.pk, academy.advanced.pk]
    response = creator_client.post(
        reverse("contacts:revoke_product", args=args), {"reason": TEN_LINES + "x"}, **HTMX
    )
    assert response.status_code == 400
    assert "The reason can be at most 500 characters (it has 501)." in response.content.decode()
    assert not AccessEvent.objects.filter(kind=AccessEvent.Kind.PRODUCT_REVOKED).exists()


def test_a_bulk_actions_reason_counts_line_breaks_as_the_textarea_does(creator_client, academy):
    response = creator_client.post(
        reverse("bulk:start"),
        {"ids": [academy.grace.pk], "action": "add_tag", "tag": "Cohort", "reason": TEN_LINES},
    )
    assert response.status_code == 302
    assert BulkAction.objects.get().reason == TEN_LINES.replace("\r\n", "\n")


def _grant(client, academy, **headers):
    url = reverse("contacts:grant_offer", args=[academy.grace.pk])
    return client.post(url, {"offer": academy.bootcamp.pk, "send_email": "on"}, **headers)


@pytest.mark.django_db(transaction=True)
def test_an_email_that_cannot_be_sent_is_a_warning_after_the_grant(
    creator_client, academy, monkeypatch, caplog
):
    def refuse(**kwargs):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr("purchases.access.emails.send_mail", refuse)
    with caplog.at_level(logging.WARNING, logger="purchases.access.emails"):
        response = _grant(creator_client, academy, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    # A warning stays until dismissed: the creator must not miss it.
    assert "toast--warning" in html and "data-toast-stays" in html
    assert (
        "Grace Hopper now has “Python Bootcamp”. The email could not be sent: "
        "the mail server did not accept it."
    ) in html
    assert Grant.objects.filter(contact=academy.grace, offer=academy.bootcamp).exists()
    assert "Email for grant" in caplog.text and "SMTPServerDisconnected" in caplog.text
    again = _grant(creator_client, academy, **HTMX).content.decode()
    assert "Grace Hopper already has “Python Bootcamp”." in again


@pytest.mark.django_db(transaction=True)
def test_an_email_that_is_sent_says_so(creator_client, academy):
    response = _grant(creator_client, academy)
    assert response.status_code == 302
    page = creator_client.get(response.url).content.decode()
    assert "Grace Hopper now has “Python Bootcamp”. An email is on its way to them." in page
    assert len(mail.outbox) == 1


def test_an_offer_title_saved_with_a_line_break_still_makes_a_one_line_subject(
    creator_client, academy, django_capture_on_commit_callbacks
):
    legacy = OfferFactory(site=academy.site, title="Spring\r\nCohort")
    url = reverse("contacts:grant_offer", args=[academy.grace.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = creator_client.post(url, {"offer": legacy.pk, "send_email": "on"}, **HTMX)
    assert response.status_code == 200
    assert [email.subject for email in mail.outbox] == ["You now have access to Spring Cohort"]


def _offer(academy, **fields) -> dict:
    return {
        "title": "Summer School",
        "products": [academy.basics.pk],
        "payment_type": "payment_plan",
        "price": "10.00",
        "interval": "month",
        "installments": "3",
        "access_days": "",
        **fields,
    }


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"access_days": "3651"}, "Access can last at most 3650 days (ten years)."),
        ({"access_days": "99999999"}, "Access can last at most 3650 days (ten years)."),
        ({"access_days": "0"}, "Access lasts at least 1 day."),
        ({"installments": "121"}, "A payment plan can have at most 120 payments."),
        ({"price": "1000000.01"}, "A price can be at most 1,000,000."),
        ({"title": "Summer\nSchool"}, "Keep it to one line, without line breaks"),
        ({"title": "Summer\tSchool"}, "Keep it to one line, without line breaks"),
        ({"products": [str(2**63)]}, "Choose one of the options in the list."),
    ],
)
def test_an_offer_out_of_bounds_is_refused_with_the_bound(creator_client, academy, fields, message):
    response = creator_client.post(reverse("products:offer_create"), _offer(academy, **fields))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Offer.objects.filter(site=academy.site, title__startswith="Summer").exists()


def test_ten_years_of_access_is_the_longest_an_offer_gives(creator_client, academy):
    response = creator_client.post(
        reverse("products:offer_create"), _offer(academy, access_days="3650")
    )
    assert response.status_code == 302
    assert Offer.objects.get(title="Summer School").access_days == 3650
    html = creator_client.get(reverse("products:offer_create")).content.decode()
    assert 'max="3650"' in html


@pytest.mark.parametrize(("asked", "shown"), [("100000", 100), ("-1", 10), ("abc", 50), ("", 50)])
def test_the_progress_reports_page_size_is_kept_within_bounds(
    creator_client, academy, asked, shown
):
    for i in range(120):
        ContactFactory(site=academy.site, email=f"learner{i}@example.com")
    contacts = list(academy.site.contacts.exclude(pk__in=[academy.ada.pk, academy.grace.pk]))
    services.grant_offer_to_contacts(
        offer=academy.bootcamp,
        contact_ids=[contact.pk for contact in contacts],
        actor=Actor.creator(academy.creator),
    )
    url = reverse("products:progress", args=[academy.basics.pk])
    response = creator_client.get(url, {"per_page": asked})
    assert response.status_code == 200
    assert len(response.context["table"].page.object_list) == shown


@pytest.fixture
def superuser_client(client):
    User = get_user_model()
    client.force_login(User.objects.create_superuser("root@example.com", "root@example.com", "x"))
    return client


def test_the_admin_refuses_a_tag_name_on_two_lines(superuser_client, academy):
    response = superuser_client.post(
        reverse("admin:contacts_tag_add"), {"site": academy.site.pk, "name": "Early\r\nBird"}
    )
    assert response.status_code == 200
    assert "Keep it to one line" in response.content.decode()
    assert not Tag.objects.filter(name__startswith="Early").exists()


def test_the_admin_refuses_a_product_title_with_a_control_character(superuser_client, academy):
    response = superuser_client.post(
        reverse("admin:products_product_add"),
        {
            "site": academy.site.pk,
            "title": "Ink\x1b[31m",
            "kind": "course",
            "lessons-TOTAL_FORMS": "0",
            "lessons-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "Keep it to one line" in response.content.decode()
    assert not Product.objects.filter(title__startswith="Ink").exists()


def test_a_reason_from_any_caller_is_counted_as_the_textarea_counts_it(academy):
    outcome = services.revoke_grant(
        grant=academy.bootcamp_grant, actor=Actor.creator(academy.creator), reason=TEN_LINES
    )
    assert outcome.changed
    assert AccessEvent.objects.get(kind=AccessEvent.Kind.REVOKED).reason == TEN_LINES.replace(
        "\r\n", "\n"
    )


def test_payments_cannot_be_set_to_stop_a_century_away(creator_client, academy):
    subscription = academy.vault_grant.subscription
    far = timezone.localdate().replace(year=timezone.localdate().year + 101, day=1)
    response = creator_client.post(
        reverse("billing:cancel", args=[subscription.pk]), {"when": "date", "on": far.isoformat()}
    )
    assert response.status_code == 400
    assert "Pick a date within the next hundred years" in response.content.decode()
    subscription.refresh_from_db()
    assert subscription.cancel_at is None
