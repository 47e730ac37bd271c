"""Every dashboard query starts from request.site: members reach their own site only."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.test import RequestFactory

from kajaccess.middleware import CurrentSiteMiddleware
from kajaccess.models import SiteMembership
from kajaccess.web import member_required
from tests.factories import ContactFactory, MembershipFactory, SiteFactory, UserFactory

pytestmark = pytest.mark.django_db


def through_middleware(user):
    request = RequestFactory().get("/")
    request.user = user
    CurrentSiteMiddleware(lambda r: HttpResponse())(request)
    return request


@member_required
def contact_name(request, pk):
    """A dashboard view as they are all written: the lookup starts from request.site."""
    contact = get_object_or_404(request.site.contacts, pk=pk)
    return HttpResponse(contact.name)


def call(view, user, **kwargs):
    return view(through_middleware(user), **kwargs)


def test_a_member_gets_their_site_and_membership():
    membership = MembershipFactory(role=SiteMembership.Role.ASSISTANT)
    request = through_middleware(membership.user)
    assert request.site == membership.site
    assert request.membership == membership


def test_a_member_of_two_sites_gets_the_first_they_joined():
    first = MembershipFactory()
    MembershipFactory(user=first.user)
    assert through_middleware(first.user).site == first.site


@pytest.mark.parametrize(
    "user",
    [
        lambda: UserFactory(),  # a customer with a Library login
        lambda: UserFactory(is_staff=True),  # support staff
        lambda: AnonymousUser(),
    ],
    ids=["customer", "staff", "anonymous"],
)
def test_everyone_else_gets_no_site(user):
    request = through_middleware(user())
    assert request.site is None
    assert request.membership is None


def test_member_required_lets_a_member_reach_their_own_contacts():
    membership = MembershipFactory()
    contact = ContactFactory(site=membership.site, name="Ada Lovelace")
    response = call(contact_name, membership.user, pk=contact.pk)
    assert (response.status_code, response.content) == (200, b"Ada Lovelace")


def test_a_contact_of_another_site_is_a_404():
    membership = MembershipFactory()
    stranger = ContactFactory(site=SiteFactory(), name="Ada Lovelace")
    with pytest.raises(Http404):
        call(contact_name, membership.user, pk=stranger.pk)


@pytest.mark.parametrize(
    "user",
    [lambda: UserFactory(), lambda: UserFactory(is_staff=True, is_superuser=True)],
    ids=["customer", "superuser"],
)
def test_member_required_is_a_404_for_non_members(user):
    contact = ContactFactory()
    with pytest.raises(Http404):
        call(contact_name, user(), pk=contact.pk)


def test_member_required_sends_anonymous_visitors_to_sign_in():
    response = call(contact_name, AnonymousUser(), pk=1)
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")
