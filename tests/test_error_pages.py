"""Error pages in the product's words, with a way back, whoever asks and however.

Django's own words (Resolver404, "No Contact matches the given query.", an exception's
text) never reach the page; a message the product raises itself (NotFound) does.
"""

import html
import re

import pytest
from django.core.exceptions import SuspiciousOperation
from django.db import DatabaseError
from django.test import Client, RequestFactory
from django.urls import include, path

from kajaccess.views import server_error
from tests.factories import ContactFactory, MembershipFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver/contacts/"}
FRAMEWORK = ("Resolver404", "URLconf", "matches the given query", "Traceback", "Http404")
SECRET = "secret detail of the failure"


def _raises(error):
    def view(request):
        raise error

    return view


# The app's URLs, plus views that fail as real ones might.
urlpatterns = [
    path("broken/", _raises(RuntimeError(SECRET))),
    path("database-gone/", _raises(DatabaseError(SECRET))),
    path("suspicious/", _raises(SuspiciousOperation(SECRET))),
    path("", include("kajaccess.urls")),
]
handler400 = "kajaccess.views.bad_request"
handler404 = "kajaccess.views.page_not_found"
handler500 = "kajaccess.views.server_error"


def text(response) -> str:
    """What the page says, without its markup."""
    body = response.content.decode()
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", body).split()))


def way_back(response) -> tuple[str, str]:
    match = re.search(r'<a class="button" href="([^"]+)">([^<]+)</a>', response.content.decode())
    assert match, "the page offers no way back"
    return match.group(1), match.group(2)


def member_client():
    membership = MembershipFactory()
    client = Client()
    client.force_login(membership.user)
    return client, membership


def test_an_unknown_address_is_a_page_in_our_words_with_the_way_back_to_contacts():
    client, _ = member_client()
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "We couldn't find that page" in text(response)
    assert not any(word in text(response) for word in FRAMEWORK)
    assert way_back(response) == ("/contacts/", "Back to Contacts")


def test_a_row_that_is_not_there_gets_the_same_words_not_djangos():
    client, _ = member_client()
    response = client.get("/contacts/987654/")
    assert response.status_code == 404
    assert "It may have been moved, or you may not have access to it." in text(response)
    assert "No Contact matches" not in text(response)


def test_the_products_own_reason_for_a_404_is_shown():
    client, membership = member_client()
    contact = ContactFactory(site=membership.site, name="Ada Lovelace")
    product = ProductFactory(site=membership.site, title="Python Basics")
    response = client.get(f"/contacts/{contact.pk}/products/{product.pk}/")
    assert response.status_code == 404
    assert "Ada Lovelace has never held “Python Basics”." in text(response)


def test_a_customer_is_led_back_to_their_library_and_someone_signed_out_to_sign_in():
    customer = Client()
    customer.force_login(UserFactory())
    response = customer.get("/contacts/")
    assert response.status_code == 404
    assert "This page is for the team of a site." in text(response)
    assert way_back(response) == ("/library/", "Back to your Library")

    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    assert way_back(response) == ("/accounts/login/", "Sign in")


def test_a_404_asked_for_from_the_panel_opens_as_a_popup():
    client, membership = member_client()
    contact = ContactFactory(site=membership.site, name="Ada Lovelace")
    product = ProductFactory(site=membership.site, title="Python Basics")
    url = f"/contacts/{contact.pk}/products/{product.pk}/"
    response = client.get(url, HTTP_HX_TARGET="panel", **HTMX)
    assert response.status_code == 404
    assert response["HX-Retarget"] == "#dialog-slot"
    assert response["HX-Reselect"] == "dialog"
    page = response.content.decode()
    assert "<dialog" in page and 'id="dialog-title"' in page
    assert "Ada Lovelace has never held “Python Basics”." in html.unescape(page)
    assert 'href="/contacts/"' in page  # Close goes back to the page it was opened on


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("url", ["/broken/", "/database-gone/"])
def test_a_failure_is_a_500_page_in_our_words_that_keeps_the_failure_to_itself(url):
    client, _ = member_client()
    client.raise_request_exception = False
    response = client.get(url)
    assert response.status_code == 500
    assert "Something went wrong on our side" in text(response)
    assert "Reload the page to see where things stand, then try again." in text(response)
    assert SECRET not in response.content.decode()
    assert way_back(response) == ("/", "Go to the home page")
    assert '<link rel="stylesheet"' in response.content.decode()  # it is the product's page


@pytest.mark.urls(__name__)
def test_a_failure_asked_for_by_htmx_opens_as_a_popup():
    client, _ = member_client()
    client.raise_request_exception = False
    response = client.get("/broken/", **HTMX)
    assert response.status_code == 500
    assert response["HX-Retarget"] == "#dialog-slot"
    assert "<dialog" in response.content.decode()
    assert "Something went wrong on our side" in text(response)
    assert SECRET not in response.content.decode()


@pytest.mark.django_db(False)
def test_the_500_page_needs_neither_the_database_nor_the_site():
    # Without django_db any query fails the test: the page must not make one.
    request = RequestFactory().get("/contacts/")
    response = server_error(request)
    assert response.status_code == 500
    assert "Something went wrong on our side" in text(response)


@pytest.mark.urls(__name__)
def test_a_request_django_refuses_is_a_400_in_our_words():
    client, _ = member_client()
    response = client.get("/suspicious/")
    assert response.status_code == 400
    assert "Something was wrong with that request" in text(response)
    assert SECRET not in response.content.decode()
    assert way_back(response) == ("/contacts/", "Back to Contacts")


def test_a_form_without_its_csrf_token_is_refused_in_our_words():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "a@example.com", "password": "x"})
    assert response.status_code == 403
    assert "That form has expired" in text(response)
    assert "CSRF" not in text(response)
    assert way_back(response) == ("/accounts/login/", "Sign in")


def test_a_refusal_keeps_its_reason_and_leads_back():
    client, membership = member_client()
    membership.role = membership.Role.ASSISTANT
    membership.save()
    response = client.get("/automations/")
    assert response.status_code == 403
    assert "Your role does not allow this" in text(response)
    assert "Your role, Assistant, cannot manage automations." in text(response)
    assert way_back(response) == ("/contacts/", "Back to Contacts")


def test_too_many_failed_sign_ins_is_the_429_page_saying_when_to_try_again():
    UserFactory(email="casey@example.com")
    client = Client()
    for _ in range(5):
        response = client.post(
            "/accounts/login/", {"username": "casey@example.com", "password": "wrong"}
        )
    assert response.status_code == 429
    page = text(response)
    assert "Please wait before trying again" in page
    assert re.search(r"Try again in 15 minutes, after \d\d:\d\d UTC\.", page)
    assert 'value="casey@example.com"' in response.content.decode()
