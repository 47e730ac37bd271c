"""The Django admin is the support team's tool, with the demo's own support login."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from contacts.models import Contact
from purchases.access import selectors
from purchases.models import AccessEvent, Grant

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    call_command("seed_demo", "--contacts", "0", stdout=StringIO())


@pytest.fixture
def support(client, demo):
    user = get_user_model().objects.get(email="support@example.com")
    client.force_login(user)
    return user


def ada_bootcamp():
    return Grant.objects.get(contact__email="ada@example.com", offer__title="Python Bootcamp")


def run_action(client, action, grants):
    return client.post(
        reverse("admin:purchases_grant_changelist"),
        {"action": action, "_selected_action": [g.pk for g in grants]},
        follow=True,
    )


def test_support_revokes_through_the_grant_admin_and_the_creator_reads_support(client, support):
    grant = ada_bootcamp()
    response = run_action(client, "revoke_access", [grant])
    assert response.status_code == 200
    assert "Revoked access on 1 grant(s)." in response.content.decode()
    grant.refresh_from_db()
    assert (grant.status, grant.revoked_via, grant.revoked_by) == ("revoked", "support", support)
    state = selectors.access_status(selectors.contact_grants(grant.contact).get(pk=grant.pk))
    assert (state.label, state.revoked_by) == ("Access revoked", "Revoked by our support team")
    event = grant.events.get(kind=AccessEvent.Kind.REVOKED)
    assert (event.actor, event.actor_kind) == (support, "support")
    assert list(selectors.library_products(grant.contact).values_list("title", flat=True)) == [
        "Community Vault"
    ]


def test_support_restores_through_the_grant_admin(client, support):
    edsger = Grant.objects.get(contact__email="edsger@example.com")
    response = run_action(client, "restore_access", [edsger, ada_bootcamp()])
    content = response.content.decode()
    assert "Restored access on 1 grant(s)." in content
    assert "1 grant(s) needed no change." in content
    edsger.refresh_from_db()
    assert edsger.status == "active"
    assert edsger.events.get(kind=AccessEvent.Kind.RESTORED).actor_kind == "support"


def test_grant_list_shows_status_and_who_revoked(client, support):
    response = client.get(reverse("admin:purchases_grant_changelist"), {"revoked_via": "creator"})
    assert response.status_code == 200
    content = response.content.decode()
    assert "Edsger Dijkstra" in content
    assert "Ada Lovelace" not in content


def test_the_audit_trail_cannot_be_added_changed_or_deleted(client, support):
    event = AccessEvent.objects.filter(contact__email="edsger@example.com").first()
    assert client.get(reverse("admin:purchases_accessevent_changelist")).status_code == 200
    assert client.get(reverse("admin:purchases_accessevent_add")).status_code == 403
    change_url = reverse("admin:purchases_accessevent_change", args=[event.pk])
    page = client.get(change_url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert client.post(change_url, {"reason": "edited"}).status_code == 403
    delete_url = reverse("admin:purchases_accessevent_delete", args=[event.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    event.refresh_from_db()
    assert event.reason != "edited"


def test_not_even_a_superuser_can_rewrite_the_audit_trail(client, demo):
    client.force_login(
        get_user_model().objects.create_superuser("root@example.com", "root@example.com", "x")
    )
    event = AccessEvent.objects.first()
    assert client.get(reverse("admin:purchases_accessevent_add")).status_code == 403
    delete_url = reverse("admin:purchases_accessevent_delete", args=[event.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    assert AccessEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.parametrize("email", ["creator@example.com", "ada@example.com"])
def test_a_user_who_is_not_staff_is_refused(client, demo, email):
    client.force_login(get_user_model().objects.get(email=email))
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response.url.startswith("/admin/login/")
    grants = client.get(reverse("admin:purchases_grant_changelist"))
    assert grants.status_code == 302


def test_a_user_who_is_not_staff_cannot_sign_in_to_the_admin(client, demo):
    response = client.post(
        "/admin/login/",
        {"username": "creator@example.com", "password": "kajaccess-demo", "next": "/admin/"},
    )
    assert response.status_code == 200
    assert "staff account" in response.content.decode()


def test_support_signs_in_to_the_admin_with_their_email(client, demo):
    response = client.post(
        "/admin/login/",
        {"username": "support@example.com", "password": "kajaccess-demo", "next": "/admin/"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/admin/"
    assert "Grants" in response.content.decode()


def test_support_finds_a_contact_by_email_across_sites(client, support):
    response = client.get(reverse("admin:contacts_contact_changelist"), {"q": "ada@"})
    content = response.content.decode()
    assert response.status_code == 200
    assert "ada@example.com" in content
    assert "ada@other.example" in content
    assert "grace@example.com" not in content
    ada = Contact.objects.get(email="ada@example.com")
    page = client.get(reverse("admin:contacts_contact_change", args=[ada.pk]))
    assert "Python Bootcamp" in page.content.decode()  # her grants, inline
