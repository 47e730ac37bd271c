"""Every page names the project's icon, so no browser asks for a missing /favicon.ico."""

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ICON = re.compile(r'<link rel="icon" href="(?P<href>[^"]+\.svg)" type="image/svg\+xml">')


def icon_of(response) -> str:
    found = ICON.search(response.content.decode())
    assert found, f"no icon on {response.wsgi_request.path}"
    return found["href"]


def test_the_dashboard_the_library_the_admin_and_error_pages_link_the_icon(client):
    pages = [reverse("login"), reverse("password_reset"), reverse("admin:login"), "/no-such-page/"]
    hrefs = {icon_of(client.get(url)) for url in pages}
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    hrefs |= {
        icon_of(client.get(url)) for url in (reverse("admin:index"), reverse("library:index"))
    }
    assert hrefs == {"/static/favicon.svg"}
    icon = finders.find("favicon.svg")
    assert icon and Path(icon).read_text().startswith("<svg")
