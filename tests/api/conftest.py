"""The API's tests: Demo Academy and Other School, and a key of each with every scope."""

import pytest
from rest_framework.test import APIClient

from contacts.bulk.runner import run_bulk_action, start_bulk_action
from kajaccess.actors import Actor
from kajaccess.keys.services import api_key_create
from kajaccess.models import ApiKey
from tests.academy import build_academy
from tests.factories import ContactFactory

ALL_SCOPES = ApiKey.Scope.values


@pytest.fixture
def academy(db):
    return build_academy()


def undoable_bulk(academy):
    """A finished bulk grant of Python Bootcamp to a contact of its own, which can be undone."""
    linus = ContactFactory(site=academy.site, name="Linus", email="linus@example.com")
    bulk = start_bulk_action(
        site=academy.site,
        user=academy.creator,
        action="grant_offer",
        params={"offer": academy.bootcamp.pk},
        selection={"ids": [linus.pk]},
    )
    return run_bulk_action(bulk.pk)


def make_key(site, user, scopes=ALL_SCOPES, name="Chargebacks"):
    return api_key_create(
        site=site, name=name, scopes=list(scopes), expires_at=None, actor=Actor.creator(user)
    )


def client_with(secret: str | None) -> APIClient:
    client = APIClient()
    if secret is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return client


@pytest.fixture
def key(academy):
    return make_key(academy.site, academy.creator)


@pytest.fixture
def api(key):
    """A client with Demo Academy's key of every scope."""
    return client_with(key.secret)


@pytest.fixture
def other_api(academy):
    """A client with Other School's key of every scope."""
    return client_with(make_key(academy.other_member.site, academy.other_member.user).secret)
