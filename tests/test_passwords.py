"""Forgot your password and Change password: Django's own views, in KajAccess's pages."""

import re
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

NEW = "a-long-Pass-phrase-9"


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def signs_in(email, password) -> bool:
    response = Client().post(reverse("login"), {"username": email, "password": password})
    return response.status_code == 302


def reset_link() -> str:
    (message,) = mail.outbox
    return re.search(r"https?://testserver(/accounts/reset/\S+/)", message.body).group(1)


def ask_for_reset(client, email):
    return client.post(reverse("password_reset"), {"email": email})


def choose(client, link, password=NEW):
    form = client.get(link, follow=True)
    assert form.status_code == 200 and "Choose a new password" in form.content.decode()
    return client.post(
        form.redirect_chain[-1][0],
        {"new_password1": password, "new_password2": password},
        follow=True,
    )


def test_the_sign_in_page_offers_forgot_your_password(client):
    html = client.get(reverse("login")).content.decode()
    assert f'<a href="{reverse("password_reset")}">Forgot your password?</a>' in html
    page = client.get(reverse("password_reset")).content.decode()
    assert "<h1>Forgot your password?</h1>" in page and 'class="card card--auth"' in page


def test_a_reset_link_sets_a_new_password_once(client):
    MembershipFactory(user=UserFactory(email="casey@example.com"))
    response = ask_for_reset(client, "Casey@Example.com")
    assert response.status_code == 302 and response.url == reverse("password_reset_done")
    assert mail.outbox[0].to == ["casey@example.com"]
    link = reset_link()
    done = choose(client, link)
    assert "Your password is set" in done.content.decode()
    assert signs_in("casey@example.com", NEW)
    assert not signs_in("casey@example.com", "kajaccess-demo")
    again = Client().get(link, follow=True)
    assert again.status_code == 404
    assert "This link no longer works" in again.content.decode()


def test_an_unknown_email_gets_the_same_page_and_no_email(client):
    UserFactory(email="casey@example.com")
    known = ask_for_reset(Client(), "casey@example.com")
    mail.outbox.clear()
    unknown = ask_for_reset(client, "nobody@example.com")
    assert (unknown.status_code, unknown.url) == (known.status_code, known.url)
    page = client.get(unknown.url).content.decode()
    assert "If an account uses that email address" in page
    assert mail.outbox == []


def test_a_reset_link_expires(client, monkeypatch, settings):
    settings.PASSWORD_RESET_TIMEOUT = 60 * 60
    UserFactory(email="casey@example.com")
    ask_for_reset(client, "casey@example.com")
    link = reset_link()
    later = datetime.now() + timedelta(hours=2)
    monkeypatch.setattr(PasswordResetTokenGenerator, "_now", lambda self: later)
    assert client.get(link, follow=True).status_code == 404
    assert signs_in("casey@example.com", "kajaccess-demo")


@pytest.mark.parametrize("email", ["x" * 10_000 + "@example.com", "not an email", ""])
def test_a_bad_email_is_refused_with_a_message(client, email):
    response = ask_for_reset(client, email)
    assert response.status_code == 400
    assert 'class="field-error"' in response.content.decode()
    assert mail.outbox == []


def test_a_mismatched_new_password_is_refused_and_the_link_still_works(client):
    UserFactory(email="casey@example.com")
    ask_for_reset(client, "casey@example.com")
    form = client.get(reset_link(), follow=True)
    response = client.post(
        form.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW + "x"}
    )
    assert response.status_code == 400
    assert "The two new passwords are not the same." in response.content.decode()
    assert signs_in("casey@example.com", "kajaccess-demo")


def test_change_password_is_in_the_user_menu_and_changes_it(client):
    member = MembershipFactory(user=UserFactory(email="casey@example.com"))
    client.force_login(member.user)
    html = client.get(reverse("contacts:list")).content.decode()
    assert f'<a href="{reverse("password_change")}">Change password</a>' in html
    url = reverse("password_change")
    data = {"old_password": "kajaccess-demo", "new_password1": NEW, "new_password2": NEW}
    response = client.post(url, data, follow=True)
    assert "Password changed" in response.content.decode()
    assert client.get(reverse("contacts:list")).status_code == 200  # still signed in here
    assert signs_in("casey@example.com", NEW)


def test_change_password_needs_the_current_one(client):
    user = UserFactory(email="casey@example.com")
    client.force_login(user)
    data = {"old_password": "wrong", "new_password1": NEW, "new_password2": NEW}
    response = client.post(reverse("password_change"), data)
    assert response.status_code == 400
    assert "Your old password was entered incorrectly." in response.content.decode()
    assert signs_in("casey@example.com", "kajaccess-demo")


def test_change_password_is_for_signed_in_users(client):
    response = client.get(reverse("password_change"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
