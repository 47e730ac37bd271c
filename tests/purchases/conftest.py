import pytest

from kajaccess.actors import Actor
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
