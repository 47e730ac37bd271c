"""Settings > API keys, and what the dashboard shows of changes made with a key."""

import html
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from kajaccess.models import ApiKey
from purchases.models import AccessEvent
from tests.api.conftest import client_with
from tests.api.test_endpoints import is_problem

pytestmark = pytest.mark.django_db


def creator_client(academy) -> Client:
    client = Client()
    client.force_login(academy.creator)
    return client


def page(response) -> str:
    return html.unescape(response.content.decode())


def test_a_key_is_made_shown_once_and_works(academy):
    browser = creator_client(academy)
    made = browser.post("/settings/api-keys/", {"name": "Help desk", "scopes": ["read", "access"]})
    assert made.status_code == 200
    key = ApiKey.objects.get(name="Help desk")
    assert key.site == academy.site and key.scopes == ["read", "access"]
    assert key.created_by == academy.creator
    secret = made.context["new_key"].secret
    assert "Copy it now: it will not be shown again." in page(made)
    assert secret in page(made)
    listed = page(browser.get("/settings/api-keys/"))
    assert secret not in listed
    assert key.prefix in listed and "read, access" in listed and "creator@example.com" in listed
    assert client_with(secret).get("/api/v1/offers/").status_code == 200
    assert "Never" not in page(browser.get("/settings/api-keys/")).split(key.prefix)[1][:400]


def test_a_key_without_a_name_or_a_scope_is_refused(academy):
    browser = creator_client(academy)
    response = browser.post("/settings/api-keys/", {"name": "", "expires_on": "2001-01-01"})
    assert response.status_code == 400
    text = page(response)
    assert "Give the key a name" in text and "Choose at least one scope." in text
    assert "Choose a day after today." in text
    assert not ApiKey.objects.exists()


def test_revoking_a_key_stops_it_at_once(academy, key):
    browser = creator_client(academy)
    confirm = browser.get(f"/settings/api-keys/{key.key.prefix}/revoke/")
    assert "Revoke the key “Chargebacks”?" in page(confirm)
    browser.post(f"/settings/api-keys/{key.key.prefix}/revoke/")
    assert is_problem(client_with(key.secret).get("/api/v1/offers/"), 401)
    assert "Revoked" in page(browser.get("/settings/api-keys/"))


def test_rotating_gives_a_new_key_and_the_old_one_a_day(academy, key):
    browser = creator_client(academy)
    response = browser.post(f"/settings/api-keys/{key.key.prefix}/rotate/")
    new = response.context["new_key"]
    assert new.secret in page(response) and "works for 24 hours more" in page(response)
    assert new.key.scopes == key.key.scopes and new.key.name == "Chargebacks"
    old = ApiKey.objects.get(pk=key.key.pk)
    assert timedelta(hours=23) < old.expiry_date - timezone.now() <= timedelta(hours=24)
    assert client_with(key.secret).get("/api/v1/offers/").status_code == 200
    assert client_with(new.secret).get("/api/v1/offers/").status_code == 200
    ApiKey.objects.filter(pk=old.pk).update(expiry_date=timezone.now() - timedelta(seconds=1))
    assert is_problem(client_with(key.secret).get("/api/v1/offers/"), 401)
    again = browser.post(f"/settings/api-keys/{key.key.prefix}/rotate/")
    assert again.status_code == 400 and "no longer works" in page(again)


def test_another_sites_key_is_not_found_on_the_screen(academy):
    other = ApiKey.objects.create_key(
        site=academy.other_member.site, name="Theirs", scopes=["read"]
    )[0]
    browser = creator_client(academy)
    assert "Theirs" not in page(browser.get("/settings/api-keys/"))
    assert browser.get(f"/settings/api-keys/{other.prefix}/revoke/").status_code == 404
    assert browser.post(f"/settings/api-keys/{other.prefix}/rotate/").status_code == 404
    assert not ApiKey.objects.get(pk=other.pk).revoked


def test_changes_made_with_a_key_are_signed_with_its_name_on_the_dashboard(academy, api):
    grant, ada = academy.bootcamp_grant, academy.ada
    api.post(f"/api/v1/grants/{grant.pk}/revoke/", {"reason": "Chargeback"}, format="json")
    api.post(
        f"/api/v1/grants/{academy.vault_grant.pk}/products/{academy.vault.pk}/revoke/",
        {"reason": "Refund"},
        format="json",
    )
    browser = creator_client(academy)
    purchases = page(browser.get(f"/contacts/{ada.pk}/purchases/"))
    assert purchases.count("Revoked by Chargebacks (API)") == 2
    activity = page(browser.get("/activity/"))
    assert "Chargebacks (API), a key made by" in activity
    event = AccessEvent.objects.get(kind=AccessEvent.Kind.REVOKED)
    assert event.api_key.name == "Chargebacks" and event.actor == academy.creator
    restored = api.post(f"/api/v1/grants/{grant.pk}/restore/").json()
    assert restored["grant"]["access_status"] is None
