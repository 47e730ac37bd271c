"""A role's refusal in the product's words: a page of its own, or inside the popup it was
asked from, so that a refused click never seems to do nothing."""

import html

import pytest
from django.test import Client
from django.urls import reverse

from kajaccess.actors import Actor
from kajaccess.models import SiteMembership
from products.models import Offer
from purchases.access import services
from purchases.models import Grant, Subscription
from tests.factories import (
    ContactFactory,
    MembershipFactory,
    OfferFactory,
    ProductFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

REFUSAL = "Your role, Assistant, cannot cancel payments. Ask the site's owner or an administrator."


@pytest.fixture
def subscription():
    owner = MembershipFactory()
    site = owner.site
    offer = OfferFactory(
        site=site,
        payment_type=Offer.PaymentType.SUBSCRIPTION,
        products=[ProductFactory(site=site)],
    )
    grant = services.grant_offer(
        contact=ContactFactory(site=site),
        offer=offer,
        actor=Actor.creator(owner.user),
        source=Grant.Source.PURCHASE,
    ).obj
    return Subscription.objects.get(grant=grant)


@pytest.fixture
def assistant(subscription):
    member = MembershipFactory(
        site=subscription.grant.site, role=SiteMembership.Role.ASSISTANT, user=UserFactory()
    )
    client = Client()
    client.force_login(member.user)
    return client


def test_a_refused_popup_shows_the_refusal_inside_a_popup(assistant, subscription):
    url = reverse("billing:cancel", args=[subscription.pk])
    response = assistant.get(
        url, HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="http://testserver/contacts/"
    )
    assert response.status_code == 403
    page = html.unescape(response.content.decode())
    assert page.lstrip().startswith("<dialog")
    assert REFUSAL in page
    assert (response["HX-Retarget"], response["HX-Reswap"]) == ("#dialog-slot", "innerHTML")
    assert 'href="/contacts/"' in page  # Close leads back to the page it was opened on


def test_a_refused_page_is_a_page_of_its_own(assistant, subscription):
    response = assistant.post(reverse("billing:cancel", args=[subscription.pk]), {"when": "now"})
    assert response.status_code == 403
    page = html.unescape(response.content.decode())
    assert "<dialog" not in page
    assert REFUSAL in page
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE
