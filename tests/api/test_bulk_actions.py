"""Bulk actions through the API: the same selection, preview, run and undo as the dashboard."""

import html

import pytest
from django.test import Client

from purchases.models import AccessEvent, AccessStatus, Grant
from tests.api.test_endpoints import is_problem
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def start(api, capture, **body):
    with capture(execute=True):
        return api.post("/api/v1/bulk-actions/", body, format="json")


def test_a_bulk_revoke_by_emails_runs_and_is_signed_with_the_key(
    academy, api, django_capture_on_commit_callbacks
):
    response = start(
        api,
        django_capture_on_commit_callbacks,
        action="revoke_offer",
        params={"offer": str(academy.bootcamp.pk)},
        selection={"emails": ["ADA@example.com", "grace@example.com", "nobody@example.com"]},
        reason="Chargebacks",
    )
    assert response.status_code == 202
    data = response.json()
    assert data["preview"]["selected"] == 2 and data["preview"]["will_change"] == 1
    assert data["status_url"].endswith(f"/api/v1/bulk-actions/{data['bulk_action']['id']}/")
    followed = api.get(data["status_url"]).json()
    assert followed["status"] == "done" and followed["changed"] == 1
    assert followed["params"] == {"offer": str(academy.bootcamp.pk)}
    assert Grant.objects.get(pk=academy.bootcamp_grant.pk).status == AccessStatus.REVOKED
    event = AccessEvent.objects.get(kind=AccessEvent.Kind.REVOKED)
    assert event.api_key.name == "Chargebacks" and event.bulk_action_id == int(followed["id"])
    detail = api.get(f"/api/v1/grants/{academy.bootcamp_grant.pk}/").json()
    assert detail["access_status"] == "Revoked by Chargebacks (API)"
    browser = Client()
    browser.force_login(academy.creator)
    page = html.unescape(browser.get(f"/bulk-actions/{followed['id']}/").content.decode())
    assert "Started by creator@example.com with the API key “Chargebacks”" in page
    history = html.unescape(browser.get("/bulk-actions/").content.decode())
    assert "Chargebacks (API)" in history


def test_a_selection_by_filters_or_ids_and_its_undo(
    academy, api, django_capture_on_commit_callbacks
):
    ContactFactory(site=academy.site, email="lin@example.com")
    tagged = start(
        api,
        django_capture_on_commit_callbacks,
        action="grant_offer",
        params={"offer": str(academy.membership.pk)},
        selection={"filters": {"access": "none"}},
    ).json()
    assert tagged["preview"]["selected"] == 2 and tagged["preview"]["will_change"] == 2
    bulk_id = tagged["bulk_action"]["id"]
    assert Grant.objects.filter(offer=academy.membership, status="active").count() == 3
    with django_capture_on_commit_callbacks(execute=True):
        undone = api.post(f"/api/v1/bulk-actions/{bulk_id}/undo/", {}, format="json")
    assert undone.status_code == 202
    assert undone.json()["bulk_action"]["undo_of"] == bulk_id
    assert Grant.objects.filter(offer=academy.membership, status="active").count() == 1
    again = api.post(f"/api/v1/bulk-actions/{bulk_id}/undo/", {}, format="json")
    assert is_problem(again, 409)
    by_id = start(
        api,
        django_capture_on_commit_callbacks,
        action="add_tag",
        params={"tag": "Refunded"},
        selection={"contact_ids": [str(academy.grace.pk), str(academy.other_ada.pk)]},
    ).json()
    assert by_id["preview"]["selected"] == 2
    assert by_id["preview"]["skipped"] == {"not in this site": 1}
    assert list(academy.other_ada.tags.all()) == []


def test_bad_bulk_requests_are_refused_and_start_nothing(academy, api, other_api):
    bad = [
        {"action": "explode", "selection": {"contact_ids": ["1"]}},
        {"action": "revoke_offer", "params": {}, "selection": {"contact_ids": ["1"]}},
        {"action": "add_tag", "params": {"tag": "x"}, "selection": {}},
        {"action": "add_tag", "params": {"tag": "x"}, "selection": {"contact_ids": []}},
        {"action": "add_tag", "params": {"tag": "x"}, "selection": {"emails": []}},
        {
            "action": "add_tag",
            "params": {"tag": "x"},
            "selection": {"contact_ids": ["1"], "emails": ["a@example.com"]},
        },
        {"action": "add_tag", "params": {"tag": "x"}, "selection": {"filters": {"tag": "Nope"}}},
        {"action": "undo_grant_offer", "selection": {"contact_ids": ["1"]}},
    ]
    for body in bad:
        assert is_problem(api.post("/api/v1/bulk-actions/", body, format="json"), 400), body
    theirs = {
        "action": "revoke_offer",
        "params": {"offer": str(academy.bootcamp.pk)},
        "selection": {"contact_ids": [str(academy.ada.pk)]},
    }
    assert is_problem(other_api.post("/api/v1/bulk-actions/", theirs, format="json"), 400)
    assert not AccessEvent.objects.filter(bulk_action__isnull=False).exists()
