import pytest

from kajaccess.actors import Actor
from tests.academy import build_academy
from tests.factories import MembershipFactory


@pytest.fixture
def member():
    """The owner of a fresh site."""
    return MembershipFactory()


@pytest.fixture
def site(member):
    return member.site


@pytest.fixture
def creator(member):
    return Actor.creator(member.user)


@pytest.fixture
def academy():
    """The demo site in small: Ada with Python Bootcamp and Vault Membership, and another site."""
    return build_academy()


@pytest.fixture
def creator_client(client, academy):
    client.force_login(academy.creator)
    return client
