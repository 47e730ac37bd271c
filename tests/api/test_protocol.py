"""What every endpoint shares: Idempotency-Key, cursor pagination and the rate limit."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts.models import Contact
from kajaccess.api.throttling import ApiKeyRateThrottle
from purchases.models import AccessEvent
from tests.api.test_endpoints import is_problem
from tests.factories import ContactFactory, OfferFactory, ProductFactory, TagFactory

pytestmark = pytest.mark.django_db


def test_the_same_idempotency_key_and_body_answer_the_first_response(academy, api):
    body = {"email": "lin@example.com", "name": "Lin"}
    first = api.post("/api/v1/contacts/", body, format="json", HTTP_IDEMPOTENCY_KEY="abc-1")
    assert first.status_code == 201
    again = api.post("/api/v1/contacts/", body, format="json", HTTP_IDEMPOTENCY_KEY="abc-1")
    assert again.status_code == 201 and again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Contact.objects.filter(email="lin@example.com").count() == 1
    other = api.post(
        "/api/v1/contacts/",
        {"email": "mo@example.com"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="abc-1",
    )
    assert is_problem(other, 422)
    assert not Contact.objects.filter(email="mo@example.com").exists()


def test_an_idempotent_revoke_is_written_once(academy, api):
    path = f"/api/v1/grants/{academy.bootcamp_grant.pk}/revoke/"
    for _ in range(3):
        response = api.post(
            path, {"reason": "Chargeback"}, format="json", HTTP_IDEMPOTENCY_KEY="cb-9"
        )
        assert response.json()["changed"] is True
    assert AccessEvent.objects.filter(kind=AccessEvent.Kind.REVOKED).count() == 1


def test_idempotency_keys_are_each_keys_own(academy, api, other_api):
    api.post(
        "/api/v1/contacts/", {"email": "lin@example.com"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    theirs = other_api.post(
        "/api/v1/contacts/", {"email": "lin@example.com"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    assert theirs.status_code == 201
    assert theirs.json()["id"] != Contact.objects.get(site=academy.site, email="lin@example.com").pk


def test_a_refused_request_is_not_kept(academy, api):
    taken = {"email": "ada@example.com"}
    assert is_problem(
        api.post("/api/v1/contacts/", taken, format="json", HTTP_IDEMPOTENCY_KEY="x"), 409
    )
    Contact.objects.filter(email="ada@example.com", site=academy.site).update(
        email="ada@old.example"
    )
    assert (
        api.post("/api/v1/contacts/", taken, format="json", HTTP_IDEMPOTENCY_KEY="x").status_code
        == 201
    )


@given(
    page_size=st.integers(min_value=1, max_value=4),
    added=st.lists(st.integers(min_value=0, max_value=3), max_size=8),
)
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_cursor_pages_stay_whole_whatever_is_added_between_them(academy, api, page_size, added):
    """Every contact there at the start is listed once, in order, whatever is added meanwhile."""
    with transaction.atomic():
        ContactFactory.create_batch(3, site=academy.site)
        start = list(
            Contact.objects.filter(site=academy.site).order_by("pk").values_list("pk", flat=True)
        )
        seen, url, turn = [], f"/api/v1/contacts/?page_size={page_size}", 0
        while url:
            data = api.get(url).json()
            seen += [int(c["id"]) for c in data["results"]]
            ContactFactory.create_batch(added[turn] if turn < len(added) else 0, site=academy.site)
            turn += 1
            url = data["next"]
        assert seen[: len(start)] == start
        assert len(seen) == len(set(seen))
        transaction.set_rollback(True)


def test_a_cursor_the_api_did_not_give_is_refused(academy, api):
    assert is_problem(api.get("/api/v1/contacts/?cursor=bogus"), 404)


def test_a_list_costs_the_same_queries_however_long(academy, api):
    def queries(path):
        with CaptureQueriesContext(connection) as captured:
            assert api.get(path).status_code == 200
        return len(captured)

    paths = ["/api/v1/contacts/", "/api/v1/events/", "/api/v1/offers/", "/api/v1/products/"]
    for path in paths:  # the key's first use of the minute is noted once (last used)
        queries(path)
    before = {path: queries(path) for path in paths}
    for _ in range(6):
        contact = ContactFactory(site=academy.site)
        contact.tags.add(TagFactory(site=academy.site))
        api.post(
            f"/api/v1/contacts/{contact.pk}/grants/",
            {"offer": str(academy.bootcamp.pk)},
            format="json",
        )
        OfferFactory(site=academy.site, products=[ProductFactory(site=academy.site)])
    assert {path: queries(path) for path in paths} == before


def test_a_key_over_its_rate_gets_a_429(academy, api, monkeypatch):
    monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", {"api_key": "3/min"})
    for _ in range(3):
        assert api.get("/api/v1/products/").status_code == 200
    refused = api.get("/api/v1/products/")
    assert is_problem(refused, 429)
    assert int(refused["Retry-After"]) > 0
