"""Every endpoint of /api/v1/, with every scope, error and tenancy case.

ENDPOINTS is the contract: each URL name and method with the scope it needs and a valid
request. A URL of the API missing from it fails `test_every_endpoint_is_in_the_table`;
every row is then asked without a key, with a key lacking its scope, with a key of
only its scope, and with Other School's key.
"""

import hashlib

import pytest
from django.core import mail
from django.urls import get_resolver

from contacts.models import Contact
from kajaccess.models import ApiKey
from purchases.models import AccessEvent, Grant
from tests.api.conftest import ALL_SCOPES, client_with, make_key, undoable_bulk

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
READ, ACCESS, CONTACTS, BULK = "read", "access", "contacts", "bulk"


def _ids(a) -> dict:
    return {
        "contact_id": a.ada.pk,
        "grant_id": a.bootcamp_grant.pk,
        "product_id": a.advanced.pk,
        "email": a.ada.email,
        "name": "VIP",
    }


# name -> method -> (scope, body)
ENDPOINTS = {
    "contacts": {"GET": (READ, None), "POST": (CONTACTS, {"email": "new@example.com"})},
    "contact": {"GET": (READ, None), "PATCH": (CONTACTS, {"name": "Ada King"})},
    "contact_by_email": {"GET": (READ, None)},
    "contact_access": {"GET": (READ, None)},
    "contact_grants": {"POST": (ACCESS, lambda a: {"offer": str(a.membership.pk)})},
    "contact_tags": {"POST": (CONTACTS, {"name": "Refunded"})},
    "contact_tag": {"DELETE": (CONTACTS, None)},
    "grant": {"GET": (READ, None), "PATCH": (ACCESS, {"expires_at": "2031-01-01T00:00:00Z"})},
    "grant_revoke": {"POST": (ACCESS, {"reason": "Chargeback"})},
    "grant_restore": {"POST": (ACCESS, {})},
    "grant_product_revoke": {"POST": (ACCESS, {"reason": "Refund"})},
    "grant_product_restore": {"POST": (ACCESS, {})},
    "offers": {"GET": (READ, None)},
    "products": {"GET": (READ, None)},
    "events": {"GET": (READ, None)},
    "bulk_actions": {
        "POST": (
            BULK,
            lambda a: {
                "action": "add_tag",
                "params": {"tag": "Refunded"},
                "selection": {"emails": ["ada@example.com"]},
            },
        )
    },
    "bulk_action": {"GET": (READ, None)},
    "bulk_action_undo": {"POST": (BULK, {"reason": "Sent by mistake"})},
}
# Public: the schema and its documentation.
PUBLIC = {"schema", "docs"}
CASES = [(name, method) for name, methods in ENDPOINTS.items() for method in methods]


def api_patterns():
    resolver = next(
        p for p in get_resolver().url_patterns if str(getattr(p, "pattern", "")) == "api/v1/"
    )
    return {p.name: "/api/v1/" + str(p.pattern) for p in resolver.url_patterns}


def url(a, name: str, **overrides) -> str:
    import re

    ids = {**_ids(a), **overrides}
    if "bulk_id" in api_patterns()[name] and "bulk_id" not in ids:
        if not hasattr(a, "bulk"):
            a.bulk = undoable_bulk(a)
        ids["bulk_id"] = a.bulk.pk
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ids[m.group(1)]), api_patterns()[name])


def send(client, method: str, path: str, body=None, **headers):
    call = getattr(client, method.lower())
    if method == "GET":
        return call(path, **headers)
    return call(path, body if body is not None else {}, format="json", **headers)


def body_for(a, name, method):
    body = ENDPOINTS[name][method][1]
    return body(a) if callable(body) else body


def is_problem(response, status: int) -> bool:
    data = response.json()
    return (
        response.status_code == status
        and response["Content-Type"].startswith(PROBLEM)
        and {"type", "title", "status", "detail"} <= set(data)
        and data["status"] == status
    )


def test_every_endpoint_is_in_the_table():
    assert set(api_patterns()) - PUBLIC == set(ENDPOINTS)


@pytest.mark.parametrize(("name", "method"), CASES, ids=[f"{n} {m}" for n, m in CASES])
def test_no_key_is_a_401_problem(academy, name, method):
    response = send(client_with(None), method, url(academy, name), body_for(academy, name, method))
    assert is_problem(response, 401)
    assert response["WWW-Authenticate"] == "Api-Key"
    bogus = client_with("abcdefgh.not-a-real-secret")
    assert is_problem(send(bogus, method, url(academy, name)), 401)


@pytest.mark.parametrize(("name", "method"), CASES, ids=[f"{n} {m}" for n, m in CASES])
def test_each_request_needs_its_scope_and_only_it(academy, name, method):
    scope = ENDPOINTS[name][method][0]
    lacking = make_key(academy.site, academy.creator, [s for s in ALL_SCOPES if s != scope])
    path = url(academy, name)
    before = AccessEvent.objects.count(), Contact.objects.count()
    response = send(client_with(lacking.secret), method, path, body_for(academy, name, method))
    assert is_problem(response, 403)
    assert f"“{scope}” scope" in response.json()["detail"]
    assert (AccessEvent.objects.count(), Contact.objects.count()) == before
    only = make_key(academy.site, academy.creator, [scope])
    response = send(client_with(only.secret), method, path, body_for(academy, name, method))
    assert 200 <= response.status_code < 300, response.content
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize(("name", "method"), CASES, ids=[f"{n} {m}" for n, m in CASES])
def test_other_schools_key_finds_nothing_of_demo_academy(academy, other_api, name, method):
    path = url(academy, name)
    before = AccessEvent.objects.count(), Contact.objects.count(), Grant.objects.count()
    response = send(other_api, method, path, body_for(academy, name, method))
    if "<" in api_patterns()[name]:
        assert is_problem(response, 404), (response.status_code, response.content)
    elif method == "GET":
        text = response.content.decode()
        for demo in ("ada@example.com", "Python Bootcamp", "Python Basics", "Demo Academy"):
            assert demo not in text
    if not (name == "contacts" and method == "POST"):
        assert (
            AccessEvent.objects.count(),
            Contact.objects.count(),
            Grant.objects.count(),
        ) == before


def test_other_schools_key_cannot_filter_by_demo_academys_rows(academy, other_api):
    for param, value in (("offer", academy.bootcamp.pk), ("product", academy.basics.pk)):
        response = other_api.get("/api/v1/contacts/", {param: value})
        assert is_problem(response, 400)
        assert param in response.json()["fields"]
    assert is_problem(other_api.get("/api/v1/contacts/", {"tag": "VIP"}), 400)
    events = other_api.get("/api/v1/events/", {"contact": academy.ada.pk}).json()
    assert events["results"] == []
    response = other_api.post(
        f"/api/v1/contacts/{academy.other_ada.pk}/grants/",
        {"offer": str(academy.bootcamp.pk)},
        format="json",
    )
    assert is_problem(response, 400)
    assert not Grant.objects.filter(contact=academy.other_ada, offer=academy.bootcamp).exists()


def test_a_revoked_or_expired_key_is_refused(academy, key, api):
    from django.utils import timezone

    assert api.get("/api/v1/offers/").status_code == 200
    ApiKey.objects.filter(pk=key.key.pk).update(expiry_date=timezone.now())
    assert is_problem(api.get("/api/v1/offers/"), 401)
    ApiKey.objects.filter(pk=key.key.pk).update(expiry_date=None, revoked=True)
    assert is_problem(api.get("/api/v1/offers/"), 401)


def test_the_key_is_kept_hashed_and_its_use_noted(academy, key, api):
    stored = ApiKey.objects.get(pk=key.key.pk)
    assert key.secret not in repr(list(ApiKey.objects.values_list()))
    assert stored.last_used_at is None
    api.get("/api/v1/products/")
    assert ApiKey.objects.get(pk=key.key.pk).last_used_at is not None
    assert hashlib.sha256(key.secret.encode()).hexdigest() != stored.hashed_key


# --- What each endpoint answers -------------------------------------------------------------


def test_contacts_list_with_the_contacts_tabs_filters(academy, api):
    everyone = api.get("/api/v1/contacts/").json()
    assert [c["email"] for c in everyone["results"]] == ["ada@example.com", "grace@example.com"]
    ada = everyone["results"][0]
    assert ada["id"] == str(academy.ada.pk)
    assert ada["tags"] == ["VIP"] and ada["customer"] is True and ada["total_products"] == 3
    assert ada["created_at"].endswith("Z")

    def emails(**params):
        return [c["email"] for c in api.get("/api/v1/contacts/", params).json()["results"]]

    assert emails(search="grace") == ["grace@example.com"]
    assert emails(tag="vip") == ["ada@example.com"]
    assert emails(offer=academy.bootcamp.pk) == ["ada@example.com"]
    assert emails(product=academy.vault.pk) == ["ada@example.com"]
    assert emails(access="none") == ["grace@example.com"]
    assert emails(subscription="active") == ["ada@example.com"]
    assert is_problem(api.get("/api/v1/contacts/", {"access": "sometimes"}), 400)


def test_add_a_contact_then_find_and_change_it(academy, api):
    response = api.post(
        "/api/v1/contacts/",
        {"email": "Lin@Example.com", "name": "Lin", "tags": ["Trial"]},
        format="json",
    )
    assert response.status_code == 201
    created = response.json()
    assert created["email"] == "Lin@example.com" and created["tags"] == ["Trial"]
    found = api.get("/api/v1/contacts/by-email/LIN@example.com/").json()
    assert found["id"] == created["id"]
    changed = api.patch(f"/api/v1/contacts/{created['id']}/", {"name": "Lin Shu"}, format="json")
    assert changed.json()["name"] == "Lin Shu"
    taken = api.post("/api/v1/contacts/", {"email": "ada@example.com"}, format="json")
    assert is_problem(taken, 409)
    bad = api.post("/api/v1/contacts/", {"email": "not an email"}, format="json")
    assert is_problem(bad, 400) and "email" in bad.json()["fields"]
    assert is_problem(api.get("/api/v1/contacts/by-email/nobody@example.com/"), 404)
    event = AccessEvent.objects.filter(kind=AccessEvent.Kind.CONTACT_EDITED).get()
    assert event.api_key.name == "Chargebacks" and event.actor == academy.creator


def test_access_lists_every_product_with_its_state_offers_and_progress(academy, api):
    api.post(f"/api/v1/grants/{academy.bootcamp_grant.pk}/products/{academy.advanced.pk}/revoke/")
    entries = api.get(f"/api/v1/contacts/{academy.ada.pk}/access/").json()["results"]
    by_title = {e["product"]["title"]: e for e in entries}
    assert by_title["Python Basics"]["state"] == "active"
    assert by_title["Python Basics"]["lessons_done"] == 3
    assert by_title["Python Basics"]["lessons_total"] == 5
    assert by_title["Advanced Python"]["state"] == "revoked"
    assert by_title["Advanced Python"]["state_label"] == "Revoked"
    assert by_title["The Vault"]["offers"] == [
        {"id": str(academy.membership.pk), "title": "Vault Membership"}
    ]
    (through,) = by_title["Advanced Python"]["through"]
    assert through["grant_id"] == str(academy.bootcamp_grant.pk)
    assert through["state"] == "revoked" and through["revoked_at"].endswith("Z")
    assert through["starts_at"].endswith("Z") and through["expires_at"] is None


def test_granting_is_idempotent(academy, api):
    path = f"/api/v1/contacts/{academy.grace.pk}/grants/"
    first = api.post(path, {"offer": str(academy.bootcamp.pk)}, format="json")
    assert first.status_code == 201
    assert first.json()["changed"] is True and first.json()["grant"]["state"] == "active"
    again = api.post(path, {"offer": str(academy.bootcamp.pk)}, format="json")
    assert again.status_code == 200
    assert again.json()["changed"] is False
    assert again.json()["grant"]["id"] == first.json()["grant"]["id"]
    assert mail.outbox == []


def test_a_new_grant_sends_its_email_when_asked_and_only_then(academy, api):
    path = f"/api/v1/contacts/{academy.grace.pk}/grants/"
    body = {"offer": str(academy.bootcamp.pk), "send_email": True}
    assert api.post(path, body, format="json").status_code == 201
    assert [m.to for m in mail.outbox] == [[academy.grace.email]]
    assert mail.outbox[0].subject == "You now have access to Python Bootcamp"
    assert api.post(path, body, format="json").status_code == 200
    assert len(mail.outbox) == 1


def test_revoke_and_restore_answer_the_grant_and_whether_it_changed(academy, api):
    grant = academy.bootcamp_grant.pk
    revoked = api.post(f"/api/v1/grants/{grant}/revoke/", {"reason": "Chargeback"}, format="json")
    assert revoked.json()["changed"] is True
    assert revoked.json()["grant"]["state"] == "revoked"
    assert revoked.json()["grant"]["access_status"] == "Revoked by Chargebacks (API)"
    assert revoked.json()["grant"]["revoke_reason"] == "Chargeback"
    assert api.post(f"/api/v1/grants/{grant}/revoke/").json()["changed"] is False
    restored = api.post(f"/api/v1/grants/{grant}/restore/").json()
    assert restored["changed"] is True and restored["grant"]["state"] == "active"
    one = api.post(f"/api/v1/grants/{grant}/products/{academy.advanced.pk}/revoke/").json()
    assert one["grant"]["state"] == "partly_revoked"
    back = api.post(f"/api/v1/grants/{grant}/products/{academy.advanced.pk}/restore/").json()
    assert back["changed"] is True and back["grant"]["state"] == "active"
    other = api.post(f"/api/v1/grants/{grant}/products/{academy.vault.pk}/revoke/")
    assert is_problem(other, 400)


def test_access_dates_are_changed_with_patch(academy, api):
    path = f"/api/v1/grants/{academy.bootcamp_grant.pk}/"
    changed = api.patch(path, {"expires_at": "2031-01-01T00:00:00Z"}, format="json").json()
    assert changed["changed"] is True
    assert changed["grant"]["expires_at"] == "2031-01-01T00:00:00.000000Z"
    before_start = api.patch(path, {"expires_at": "2001-01-01T00:00:00Z"}, format="json")
    assert is_problem(before_start, 400)
    never = api.patch(path, {"expires_at": None}, format="json").json()
    assert never["grant"]["expires_at"] is None


def test_tags_are_added_and_removed(academy, api):
    path = f"/api/v1/contacts/{academy.grace.pk}/tags/"
    assert api.post(path, {"name": "Refunded"}, format="json").json()["tags"] == ["Refunded"]
    assert api.delete(f"{path}refunded/").json()["tags"] == []
    assert is_problem(api.post(path, {"name": ""}, format="json"), 400)


def test_offers_products_and_events(academy, api):
    offers = api.get("/api/v1/offers/").json()["results"]
    assert {o["title"] for o in offers} == {"Python Bootcamp", "Vault Membership"}
    products = api.get("/api/v1/products/").json()["results"]
    assert [p["title"] for p in products] == ["Python Basics", "Advanced Python", "The Vault"]
    api.post(
        f"/api/v1/grants/{academy.bootcamp_grant.pk}/revoke/",
        {"reason": "Chargeback"},
        format="json",
    )
    events = api.get("/api/v1/events/", {"kind": "revoked"}).json()["results"]
    assert len(events) == 1
    assert events[0]["api_key"] == "Chargebacks"
    assert events[0]["actor_email"] == "creator@example.com"
    assert events[0]["reason"] == "Chargeback"
    later = api.get("/api/v1/events/", {"since": "2999-01-01T00:00:00Z"}).json()["results"]
    assert later == []
    mine = api.get("/api/v1/events/", {"contact": academy.grace.pk}).json()["results"]
    assert mine == []
    assert is_problem(api.get("/api/v1/events/", {"since": "yesterday"}), 400)


def test_malformed_ids_are_404_problems(academy, api):
    for bad in ("abc", "-1", "0", "99999999999999999999999", "1.5", "０１"):
        assert is_problem(api.get(f"/api/v1/contacts/{bad}/"), 404), bad
        assert is_problem(api.post(f"/api/v1/grants/{bad}/revoke/"), 404), bad


def test_a_body_that_is_not_json_is_a_problem(academy, api):
    response = api.post("/api/v1/contacts/", "{not json", content_type="application/json")
    assert is_problem(response, 400)
    response = api.post("/api/v1/contacts/", "email=x", content_type="text/plain")
    assert is_problem(response, 415)


def test_an_unknown_address_or_method_is_a_problem(academy, api):
    assert is_problem(api.get("/api/v1/nothing-here/"), 404)
    assert is_problem(api.get("/api/v2/contacts/"), 404)
    assert is_problem(api.delete("/api/v1/offers/"), 405)
    assert is_problem(api.put(f"/api/v1/contacts/{academy.ada.pk}/", {}, format="json"), 405)


def test_a_misspelt_filter_is_refused_never_taken_for_no_filter(academy, api):
    response = api.get("/api/v1/contacts/", {"tags": "VIP"})
    assert is_problem(response, 400)
    assert "tags" in response.json()["fields"]
    assert is_problem(api.get(f"/api/v1/contacts/{academy.ada.pk}/", {"x": "1"}), 400)
