"""No page or export is kept by a browser's cache or a shared proxy.

Every URL pattern, enumerated from the resolver as tests/test_security.py does, is asked
for by the person it is for, and by an anonymous visitor; each answer, whatever its
status, says `Cache-Control: private, no-store`.
"""

import pytest
from django.contrib.auth import get_user_model
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse

from contacts.models import Contact
from tests import test_security
from tests.test_security import CHANGING, OUTSIDE, client_for, patterns, url_for

pytestmark = pytest.mark.django_db

# The demo data with an automation and a bulk action, as the security tests see it.
world = test_security.world


def not_stored(response) -> bool:
    directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
    return {"private", "no-store"} <= directives


def test_every_page_behind_sign_in_is_not_stored(world):
    creator = client_for(world["creator"])
    ada = client_for(world["ada"])
    seen = 0
    for name, pattern, _ in patterns():
        if name in OUTSIDE:
            continue
        client = ada if name.startswith("library:") else creator
        url = url_for(pattern, world["ids"])
        responses = [client.get(url)]
        if name in CHANGING:
            responses.append(client.post(url))
        for response in responses:
            assert not_stored(response), (name, response.status_code, response.get("Cache-Control"))
        seen += 1
    assert seen > 40


def test_the_sign_in_pages_and_the_redirects_to_them_are_not_stored(world):
    anonymous = Client()
    for name, pattern, _ in patterns():
        response = anonymous.get(url_for(pattern, world["ids"]))
        assert not_stored(response), (name, response.status_code)
    for url in ("/admin/", "/admin/login/"):
        assert not_stored(anonymous.get(url)), url


def test_exports_are_not_stored_and_still_stream(world):
    creator = client_for(world["creator"])
    site = world["creator"].memberships.get().site
    ids = list(Contact.objects.filter(site=site).values_list("pk", flat=True)[:3])
    export = creator.post(reverse("bulk:export"), {"ids": [str(pk) for pk in ids]})
    assert export.status_code == 200
    assert isinstance(export, StreamingHttpResponse)
    assert export["Content-Type"].startswith("text/csv")
    assert not_stored(export)
    assert b"".join(export.streaming_content).startswith(b"Name,Email")

    progress = creator.get(reverse("products:progress_csv", args=[world["ids"]["product_id"]]))
    assert progress.status_code == 200
    assert progress["Content-Type"].startswith("text/csv")
    assert not_stored(progress)


def test_the_admin_is_not_stored(world):
    support = client_for(get_user_model().objects.get(email="support@example.com"))
    grant_id = world["ids"]["grant_id"]
    for url in (
        "/admin/",
        reverse("admin:purchases_grant_changelist"),
        reverse("admin:purchases_grant_change", args=[grant_id]),
        reverse("admin:contacts_contact_changelist") + "?q=ada",
    ):
        response = support.get(url)
        assert response.status_code == 200, url
        assert not_stored(response), url


def test_the_refused_sign_in_is_not_stored(world):
    client = Client()
    for _ in range(5):
        response = client.post(
            reverse("login"), {"username": "creator@example.com", "password": "wrong"}
        )
    assert response.status_code == 429
    assert not_stored(response)
