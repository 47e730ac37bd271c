"""The Django admin is the support team's tool, with the demo's own support login."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import reverse

from contacts.models import Contact
from purchases import admin as purchases_admin
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


def run_action(client, action, grants, **confirmation):
    """Pick the grants and the action in the changelist; with `confirm`, confirm it too."""
    return client.post(
        reverse("admin:purchases_grant_changelist"),
        {"action": action, "_selected_action": [g.pk for g in grants], **confirmation},
        follow=True,
    )


def confirm(client, action, grants, reason=""):
    return run_action(client, action, grants, confirm="yes", reason=reason)


def test_support_revokes_through_the_grant_admin_and_the_creator_reads_support(client, support):
    grant = ada_bootcamp()
    page = run_action(client, "revoke_access", [grant])
    assert page.status_code == 200
    content = page.content.decode()
    assert "Revoke access to 1 grant?" in content
    assert "Ada Lovelace" in content and "Python Bootcamp" in content
    assert "Payments continue" not in content  # a one-time purchase bills no more
    grant.refresh_from_db()
    assert grant.status == "active"  # nothing changes before the confirmation

    response = confirm(client, "revoke_access", [grant], reason="Chargeback")
    assert response.status_code == 200
    content = response.content.decode()
    assert "Revoked access to 1 grant." in content
    assert "grant(s)" not in content
    grant.refresh_from_db()
    assert (grant.status, grant.revoked_via, grant.revoked_by) == ("revoked", "support", support)
    assert grant.revoke_reason == "Chargeback"
    state = selectors.access_status(selectors.contact_grants(grant.contact).get(pk=grant.pk))
    assert (state.label, state.revoked_by) == ("Access revoked", "Revoked by our support team")
    event = grant.events.get(kind=AccessEvent.Kind.REVOKED)
    assert (event.actor, event.actor_kind, event.reason) == (support, "support", "Chargeback")
    assert list(selectors.library_products(grant.contact).values_list("title", flat=True)) == [
        "Community Vault"
    ]


def test_the_confirmation_warns_when_a_subscription_still_bills(client, support):
    vault = Grant.objects.get(contact__email="ada@example.com", offer__title="Vault Membership")
    content = run_action(client, "revoke_access", [vault, ada_bootcamp()]).content.decode()
    assert "Revoke access to 2 grants?" in content
    assert content.count("Payments continue: 29.00 USD a month") == 1
    subscription = reverse("admin:purchases_subscription_change", args=[vault.subscription.pk])
    assert f'href="{subscription}"' in content
    assert 'name="reason"' in content
    assert ">Cancel<" in content


def test_revoking_several_grants_says_how_many_in_words(client, support):
    grants = list(Grant.objects.filter(contact__email="ada@example.com", status="active"))
    grants.append(Grant.objects.get(contact__email="edsger@example.com"))
    assert len(grants) == 3
    content = confirm(client, "revoke_access", grants).content.decode()
    assert "Revoked access to 2 grants." in content
    assert "1 grant needed no change." in content
    assert "(s)" not in content


def test_support_restores_through_the_grant_admin(client, support):
    edsger = Grant.objects.get(contact__email="edsger@example.com")
    page = run_action(client, "restore_access", [edsger, ada_bootcamp()]).content.decode()
    assert "Restore access to 2 grants?" in page
    assert "Has access: no change" in page
    assert "Payments continue" not in page
    response = confirm(client, "restore_access", [edsger, ada_bootcamp()])
    content = response.content.decode()
    assert "Restored access to 1 grant." in content
    assert "1 grant needed no change." in content
    assert "grant(s)" not in content
    edsger.refresh_from_db()
    assert edsger.status == "active"
    assert edsger.events.get(kind=AccessEvent.Kind.RESTORED).actor_kind == "support"


def test_many_unchanged_grants_are_counted_in_the_plural(client, support):
    active = list(Grant.objects.filter(contact__email="ada@example.com", status="active"))
    content = confirm(client, "restore_access", active).content.decode()
    assert f"{len(active)} grants needed no change." in content
    assert "Restored access" not in content


def test_a_reason_that_is_too_long_changes_nothing_and_says_why(client, support):
    grant = ada_bootcamp()
    response = confirm(client, "revoke_access", [grant], reason="x" * 501)
    assert response.status_code == 400
    assert "at most 500 characters" in response.content.decode()
    grant.refresh_from_db()
    assert grant.status == "active"


def test_too_many_grants_at_once_are_refused_before_the_confirmation(client, support, monkeypatch):
    monkeypatch.setattr(purchases_admin, "MOST_GRANTS_AT_ONCE", 2)
    grants = list(Grant.objects.filter(status="active")[:3])
    content = confirm(client, "revoke_access", grants).content.decode()
    assert "Select at most 2 grants at a time" in content
    assert Grant.objects.filter(pk__in=[g.pk for g in grants], status="active").count() == 3


def test_a_staff_user_without_the_change_permission_has_no_revoke(client, demo):
    viewer = get_user_model().objects.create_user(
        "viewer@example.com", "viewer@example.com", "x", is_staff=True
    )
    viewer.user_permissions.add(Permission.objects.get(codename="view_grant"))
    client.force_login(viewer)
    changelist = client.get(reverse("admin:purchases_grant_changelist")).content.decode()
    assert "Revoke access" not in changelist
    grant = ada_bootcamp()
    confirm(client, "revoke_access", [grant])
    grant.refresh_from_db()
    assert grant.status == "active"


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
    assert "support account" in response.content.decode()


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
