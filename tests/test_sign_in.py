"""Signing in by email, and the refusal after repeated failures (django-axes).

Five failed sign-ins for one email from one address refuse that email from that
address for 15 minutes, on the dashboard's sign-in page and the admin's alike.
"""

import threading
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.db import connections
from django.db.models import F
from django.test import Client
from django.urls import reverse

from kajaccess.backends import EmailBackend
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "kajaccess-demo"
THROTTLED = "Too many failed sign-ins with this email. Try again in 15 minutes, after"
WRONG = "That email and password do not match"


@pytest.fixture
def casey():
    return UserFactory(email="casey@example.com", is_staff=True)


def sign_in(client, email, password=PASSWORD, path=None):
    return client.post(path or reverse("login"), {"username": email, "password": password})


def admin_sign_in(client, email, password=PASSWORD):
    return client.post(
        "/admin/login/", {"username": email, "password": password, "next": "/admin/"}
    )


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def fail(client, email, times, **kwargs) -> list[int]:
    return [sign_in(client, email, "wrong", **kwargs).status_code for _ in range(times)]


def let_time_pass(minutes: int) -> None:
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=minutes))


def test_members_sign_in_with_their_email_in_any_case(client):
    member = MembershipFactory(user=UserFactory(email="casey@example.com"))
    response = sign_in(client, "Casey@Example.com")
    assert response.status_code == 302
    assert response.url == reverse("home")
    assert member.user.pk == int(client.session["_auth_user_id"])


def test_a_wrong_password_says_so_without_saying_which_part(client, casey):
    response = sign_in(client, "casey@example.com", "wrong")
    assert response.status_code == 200
    assert WRONG in response.content.decode()


def test_the_fifth_failure_refuses_the_email_even_with_the_right_password(client, casey):
    assert fail(client, "casey@example.com", 4) == [200] * 4
    fifth = sign_in(client, "casey@example.com", "wrong")
    assert fifth.status_code == 429
    assert fifth["Retry-After"] == str(15 * 60)
    page = fifth.content.decode()
    assert THROTTLED in page
    assert WRONG not in page
    assert 'value="casey@example.com"' in page  # the email stays typed in

    right = sign_in(client, "casey@example.com")
    assert right.status_code == 429
    assert THROTTLED in right.content.decode()
    assert not signed_in(client)


def test_the_letter_case_of_the_email_does_not_give_more_attempts(client, casey):
    for email in [
        "casey@example.com",
        "CASEY@example.com",
        " Casey@Example.com",
        "casey@EXAMPLE.com",
    ]:
        assert sign_in(client, email, "wrong").status_code == 200
    assert sign_in(client, "Casey@example.COM", "wrong").status_code == 429


def test_one_persons_failures_do_not_lock_out_another_from_the_same_address(client, casey):
    dana = UserFactory(email="dana@example.com")
    fail(client, "casey@example.com", 5)
    assert sign_in(client, "casey@example.com").status_code == 429
    assert sign_in(client, "dana@example.com").status_code == 302
    assert int(client.session["_auth_user_id"]) == dana.pk


def test_the_same_email_from_another_address_is_not_held_up(casey):
    fail(Client(REMOTE_ADDR="203.0.113.7"), "casey@example.com", 5)
    elsewhere = Client(REMOTE_ADDR="198.51.100.20")
    assert sign_in(elsewhere, "casey@example.com").status_code == 302
    assert signed_in(elsewhere)


def test_the_admin_sign_in_is_throttled_too(client, casey):
    for _ in range(4):
        response = admin_sign_in(client, "casey@example.com", "wrong")
        assert response.status_code == 200
        assert "support account" in response.content.decode()
    fifth = admin_sign_in(client, "casey@example.com", "wrong")
    assert fifth.status_code == 429
    assert fifth["Retry-After"] == str(15 * 60)
    page = fifth.content.decode()
    assert THROTTLED in page
    assert 'id="login-form"' in page  # still the admin's own sign-in page
    assert admin_sign_in(client, "casey@example.com").status_code == 429
    assert not signed_in(client)


def test_failures_on_either_sign_in_page_count_together(client, casey):
    fail(client, "casey@example.com", 3)
    assert admin_sign_in(client, "casey@example.com", "wrong").status_code == 200
    assert admin_sign_in(client, "casey@example.com", "wrong").status_code == 429
    assert sign_in(client, "casey@example.com").status_code == 429


def test_the_right_password_is_refused_until_the_cool_off_is_over(client, casey):
    fail(client, "casey@example.com", 5)
    let_time_pass(minutes=14)
    # Refused, and the attempt counts: the 15 minutes start again from it.
    assert sign_in(client, "casey@example.com").status_code == 429
    let_time_pass(minutes=14)
    assert sign_in(client, "casey@example.com").status_code == 429
    let_time_pass(minutes=16)
    response = sign_in(client, "casey@example.com")
    assert response.status_code == 302
    assert signed_in(client)


def test_a_successful_sign_in_forgets_the_failures_before_it(client, casey):
    assert fail(client, "casey@example.com", 4) == [200] * 4
    assert sign_in(client, "casey@example.com").status_code == 302
    client.post(reverse("logout"))
    assert fail(client, "casey@example.com", 4) == [200] * 4


def test_wrong_attempts_in_a_row_stop_at_the_limit(client, casey):
    assert fail(client, "casey@example.com", 10) == [200] * 4 + [429] * 6
    assert sign_in(client, "casey@example.com").status_code == 429


@pytest.mark.django_db(transaction=True)
def test_wrong_attempts_at_the_same_moment_stop_at_the_limit(postgres_only, settings, monkeypatch):
    # A real password hash, so that every attempt takes long enough to overlap the others.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    UserFactory(email="casey@example.com", password=PASSWORD)
    guesses = []
    check = EmailBackend.authenticate

    def checked(self, request, username=None, password=None, **kwargs):
        guesses.append(password)
        return check(self, request, username=username, password=password, **kwargs)

    monkeypatch.setattr(EmailBackend, "authenticate", checked)
    attempts = 10
    start = threading.Barrier(attempts)
    statuses = []

    def attempt(n):
        try:
            client = Client()
            start.wait()
            statuses.append(sign_in(client, "casey@example.com", f"guess-{n}").status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Five guesses were tried against the password, the fifth answered as refused; the
    # other five were refused without being tried.
    assert len(guesses) == 5
    assert sorted(statuses) == [200] * 4 + [429] * 6
    assert sign_in(Client(), "casey@example.com").status_code == 429
    assert len(guesses) == 5


def test_without_a_trusted_proxy_a_forwarded_address_is_not_believed(casey):
    for hop in range(5):
        client = Client(HTTP_X_FORWARDED_FOR=f"192.0.2.{hop}")
        sign_in(client, "casey@example.com", "wrong")
    assert (
        sign_in(Client(HTTP_X_FORWARDED_FOR="192.0.2.99"), "casey@example.com").status_code == 429
    )


def test_behind_a_trusted_proxy_the_address_it_saw_counts(casey, settings):
    settings.TRUSTED_PROXY_HEADER = "HTTP_X_FORWARDED_FOR"
    # The proxy appends the address it saw; whatever the client sent before it is theirs.
    for spoofed in range(5):
        client = Client(HTTP_X_FORWARDED_FOR=f"192.0.2.{spoofed}, 203.0.113.7")
        sign_in(client, "casey@example.com", "wrong")
    same = Client(HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.7")
    assert sign_in(same, "casey@example.com").status_code == 429
    other = Client(HTTP_X_FORWARDED_FOR="203.0.113.8")
    assert sign_in(other, "casey@example.com").status_code == 302


def test_a_malformed_forwarded_address_falls_back_to_the_connection(casey, settings):
    settings.TRUSTED_PROXY_HEADER = "HTTP_X_FORWARDED_FOR"
    client = Client(HTTP_X_FORWARDED_FOR="not-an-address", REMOTE_ADDR="203.0.113.9")
    assert sign_in(client, "casey@example.com", "wrong").status_code == 200
    assert AccessAttempt.objects.get().ip_address == "203.0.113.9"
