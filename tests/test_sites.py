"""A member of several sites works on one at a time: the one they switched to, kept in
their session, for as long as they are an active member of it."""

import pytest
from django.test import Client
from django.urls import reverse

from kajaccess.models import SiteMembership
from tests.factories import ContactFactory, MembershipFactory, SiteFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def contractor():
    """Robin runs Demo Academy's and Other School's contacts; each site has its own customer."""
    robin = UserFactory(email="robin@example.com")
    academy = MembershipFactory(
        user=robin, site=SiteFactory(name="Demo Academy"), role=SiteMembership.Role.ADMIN
    )
    school = MembershipFactory(
        user=robin, site=SiteFactory(name="Other School"), role=SiteMembership.Role.ASSISTANT
    )
    ContactFactory(site=academy.site, name="Ada Lovelace")
    ContactFactory(site=school.site, name="Grace Hopper")
    client = Client()
    client.force_login(robin)
    return {"user": robin, "academy": academy, "school": school, "client": client}


def contacts_page(client) -> str:
    response = client.get(reverse("contacts:list"))
    assert response.status_code == 200
    return response.content.decode()


def switch(client, site_id):
    return client.post(reverse("switch_site"), {"site": site_id})


def test_the_header_offers_the_members_sites_with_the_current_one_chosen(contractor):
    html = contacts_page(contractor["client"])
    switcher = html[html.index('<form class="site-switcher"') : html.index("</form>")]
    academy, school = contractor["academy"].site, contractor["school"].site
    assert f'<option value="{academy.pk}" selected>Demo Academy</option>' in switcher
    assert f'<option value="{school.pk}" >Other School</option>' in switcher
    assert "Switch site" in switcher
    assert "Ada Lovelace" in html and "Grace Hopper" not in html


def test_a_member_of_one_site_gets_no_switcher(client):
    client.force_login(MembershipFactory().user)
    assert "site-switcher" not in contacts_page(client)


def test_switching_changes_the_site_and_it_survives_requests(contractor):
    client = contractor["client"]
    response = switch(client, contractor["school"].site_id)
    assert response.status_code == 302 and response.url == reverse("home")
    for _ in range(3):
        html = contacts_page(client)
        assert "Grace Hopper" in html and "Ada Lovelace" not in html
        assert "<title>Contacts · Other School</title>" in html
    assert "· Other School</title>" in client.get(reverse("products:list")).content.decode()
    # Each site's own objects only: Demo Academy's contact is a 404 from Other School.
    ada = contractor["academy"].site.contacts.get()
    assert client.get(reverse("contacts:profile", args=[ada.pk])).status_code == 404
    switch(client, contractor["academy"].site_id)
    assert "Ada Lovelace" in contacts_page(client)
    assert client.get(reverse("contacts:profile", args=[ada.pk])).status_code == 200


def test_switching_says_where_one_is_now(contractor):
    client = contractor["client"]
    response = client.post(
        reverse("switch_site"), {"site": contractor["school"].site_id}, follow=True
    )
    assert "You are now working on Other School." in response.content.decode()


@pytest.mark.parametrize(
    "site",
    [
        lambda c: SiteFactory(name="Stranger School").pk,
        lambda c: 99999999999999999999999,
        lambda c: "abc",
        lambda c: "x" * 10_000,
    ],
    ids=["another-site", "huge", "letters", "long"],
)
def test_switching_to_a_site_one_is_not_on_is_a_404(contractor, site):
    client = contractor["client"]
    response = switch(client, site(contractor))
    assert response.status_code == 404
    assert "Ada Lovelace" in contacts_page(client)  # still on the site they were on


def test_switching_without_a_site_says_so(contractor):
    response = contractor["client"].post(reverse("switch_site"))
    assert response.status_code == 400
    assert "Choose a site to switch to." in response.content.decode()


def test_switching_to_a_site_one_is_suspended_from_is_a_404(contractor):
    school = contractor["school"]
    school.status = SiteMembership.Status.SUSPENDED
    school.save()
    client = contractor["client"]
    assert switch(client, school.site_id).status_code == 404
    assert "site-switcher" not in contacts_page(client)  # one active site left


def test_a_removed_membership_falls_back_to_the_first_active_one(contractor):
    client = contractor["client"]
    switch(client, contractor["school"].site_id)
    assert "Grace Hopper" in contacts_page(client)
    contractor["school"].delete()
    html = contacts_page(client)
    assert "Ada Lovelace" in html and "Grace Hopper" not in html
    assert "kajaccess_current_site" not in client.session


def test_a_suspension_falls_back_too_and_the_last_one_leaves_no_site(contractor):
    client = contractor["client"]
    switch(client, contractor["school"].site_id)
    SiteMembership.objects.filter(pk=contractor["school"].pk).update(status="suspended")
    assert "Ada Lovelace" in contacts_page(client)
    SiteMembership.objects.filter(pk=contractor["academy"].pk).update(status="suspended")
    assert client.get(reverse("contacts:list")).status_code == 404
    assert client.get(reverse("home")).url == reverse("library:index")


def test_customers_have_no_site_to_switch_to(client):
    client.force_login(UserFactory())
    assert client.post(reverse("switch_site"), {"site": SiteFactory().pk}).status_code == 404
