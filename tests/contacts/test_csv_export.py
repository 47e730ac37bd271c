import csv
import io
import tracemalloc

import pytest

from contacts import export as csv_export
from contacts.models import Contact, ContactTag
from kajaccess import spreadsheet
from kajaccess.actors import Actor
from purchases.access import services
from tests.factories import (
    ContactFactory,
    MembershipFactory,
    OfferFactory,
    ProductFactory,
    SubscriptionFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db


def read(contacts):
    return list(csv.reader(io.StringIO("".join(csv_export.csv_lines(contacts)))))


def test_each_contact_with_tags_products_access_and_subscriptions():
    member = MembershipFactory()
    site = member.site
    basics = ProductFactory(site=site, title="Python Basics")
    advanced = ProductFactory(site=site, title="Advanced Python")
    vault = ProductFactory(site=site, title="Community Vault")
    bootcamp = OfferFactory(site=site, title="Python Bootcamp", products=[basics, advanced])
    membership = OfferFactory(site=site, title="Vault Membership", products=[vault])
    ada = ContactFactory(site=site, name="Ada Lovelace", email="ada@example.com")
    ContactTag.objects.create(contact=ada, tag=TagFactory(site=site, name="VIP"))
    actor = Actor.creator(member.user)
    grant = services.grant_offer(contact=ada, offer=bootcamp, actor=actor).obj
    services.revoke_product(grant=grant, product=advanced, actor=actor)
    vault_grant = services.grant_offer(contact=ada, offer=membership, actor=actor).obj
    SubscriptionFactory(grant=vault_grant)
    ContactFactory(site=site, name="=HYPERLINK(1)", email="x@example.com")

    rows = read(Contact.objects.filter(site=site))

    assert rows[0] == ["Name", "Email", "Tags", "Products", "Subscriptions"]
    assert rows[1] == [
        "Ada Lovelace",
        "ada@example.com",
        "VIP",
        "Advanced Python (revoked); Community Vault (active); Python Basics (active)",
        "Vault Membership: Active",
    ]
    assert rows[2][0] == "'=HYPERLINK(1)"


def test_memory_stays_flat_as_rows_grow(monkeypatch):
    monkeypatch.setattr(csv_export, "CHUNK_SIZE", 50)
    monkeypatch.setattr(spreadsheet, "LINES_PER_CHUNK", 20)

    def peak(n):
        site = MembershipFactory().site
        Contact.objects.bulk_create(
            Contact(site=site, name=f"Person {i}", email=f"p{i}@example.com") for i in range(n)
        )
        tracemalloc.start()
        count = sum(
            chunk.count("\r\n") for chunk in csv_export.csv_lines(Contact.objects.filter(site=site))
        )
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert count == n + 1
        return top

    small, large = peak(200), peak(2000)
    # Ten times the rows must not take anywhere near ten times the memory.
    assert large < small * 2


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_that_a_spreadsheet_would_run_stays_text(start):
    site = MembershipFactory().site
    ContactFactory(site=site, name=f"{start}cmd|' /C calc'!A0", email="x@example.com")
    rows = read(Contact.objects.filter(site=site))
    assert rows[1][0] == f"'{start}cmd|' /C calc'!A0"
