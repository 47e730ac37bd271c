import pytest

from kajaccess.actors import Actor
from purchases import selectors, services
from tests.factories import ContactFactory, MembershipFactory, OfferFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_grant_revoke_restore_round_trip():
    member = MembershipFactory()
    site = member.site
    basics = ProductFactory(site=site, lessons=5)
    advanced = ProductFactory(site=site, lessons=4)
    offer = OfferFactory(site=site, products=[basics, advanced])
    contact = ContactFactory(site=site)
    actor = Actor.creator(member.user)

    grant = services.grant_offer(contact=contact, offer=offer, actor=actor).obj
    assert {p.pk for p in selectors.library_products(contact)} == {basics.pk, advanced.pk}
    assert selectors.access_status(grant) is None

    out = services.revoke_product(grant=grant, product=advanced, actor=actor, reason="x")
    assert out.changed
    assert not services.revoke_product(grant=grant, product=advanced, actor=actor).changed
    grant = selectors.contact_grants(contact).get()
    state = selectors.access_status(grant)
    assert (state.label, state.revoked_by) == ("Access revoked", f"Revoked by {member.user.email}")
    assert not selectors.has_access(contact, advanced)
    assert selectors.has_access(contact, basics)

    assert services.revoke_grant(grant=grant, actor=Actor.support(member.user)).changed
    grant = selectors.contact_grants(contact).get()
    assert selectors.access_status(grant).revoked_by == "Revoked by our support team"
    assert list(selectors.library_products(contact)) == []
    assert services.restore_access(grant=grant, actor=actor).changed
    assert [p.pk for p in selectors.library_products(contact)] == [basics.pk]
    cps = selectors.contact_products(contact)
    assert [(c.product.pk, c.state) for c in cps] == [
        (basics.pk, "active"),
        (advanced.pk, "revoked"),
    ]
