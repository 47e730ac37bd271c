import pytest
from django.core.cache import cache
from django.urls import reverse

from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def sign_in(client, email, password="kajaccess-demo"):
    return client.post(reverse("login"), {"username": email, "password": password})


def test_members_sign_in_with_their_email_in_any_case(client):
    member = MembershipFactory(user=UserFactory(email="casey@example.com"))
    response = sign_in(client, "Casey@Example.com")
    assert response.status_code == 302
    assert response.url == reverse("home")
    assert member.user.pk == int(client.session["_auth_user_id"])


def test_a_wrong_password_says_so_without_saying_which_part(client):
    UserFactory(email="casey@example.com")
    response = sign_in(client, "casey@example.com", "wrong")
    assert response.status_code == 200
    assert "Please enter a correct" in response.content.decode()


def test_repeated_failures_are_throttled_even_with_the_right_password(client):
    UserFactory(email="casey@example.com")
    for _ in range(5):
        assert sign_in(client, "casey@example.com", "wrong").status_code == 200
    response = sign_in(client, "casey@example.com")
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session
