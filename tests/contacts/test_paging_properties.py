"""Property-based: walking the Contacts tab by Next, in any of its sorts, lists every
contact exactly once, though contacts are added between pages; walking back from Last
by Previous lists the same contacts in the opposite order."""

import html
import re
from datetime import timedelta

from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from contacts.models import Contact
from tests.factories import (
    ContactFactory,
    GrantFactory,
    MembershipFactory,
    OfferFactory,
    ProductFactory,
)

SORTS = [
    f"{direction}{column}"
    for column in ("contact", "is_customer", "total_products", "created_at", "last_activity_at")
    for direction in ("", "-")
]
PER_PAGE = 10
ROW = re.compile(r'<tr id="contact-row-(\d+)"')

# Few distinct values, so that ties (broken by id) are the rule rather than the exception.
person = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["", "Ada", "Bea", "Ada"]),
        "added": st.integers(0, 2),
        "active": st.one_of(st.none(), st.integers(0, 2)),
        "products": st.integers(0, 2),
    }
)
EXAMPLES = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def link(page: str, rel: str) -> str | None:
    found = re.search(rf'<a href="/contacts/(\?[^"]*)"[^>]*rel="{rel}"', page)
    return html.unescape(found.group(1)) if found else None


class KeysetPagingTests(TestCase):
    def setUp(self):
        self.member = MembershipFactory()
        self.site = self.member.site
        self.client = Client()
        self.client.force_login(self.member.user)
        self.now = timezone.now().replace(microsecond=0)
        products = [ProductFactory(site=self.site) for _ in range(2)]
        self.offers = [
            OfferFactory(site=self.site, products=products[:1]),
            OfferFactory(site=self.site, products=products),
        ]
        # Another site's contacts never show.
        ContactFactory.create_batch(3)

    def add(self, drawn: dict) -> Contact:
        contact = ContactFactory(
            site=self.site,
            name=drawn["name"],
            created_at=self.now - timedelta(days=drawn["added"]),
            last_activity_at=(
                None if drawn["active"] is None else self.now - timedelta(hours=drawn["active"])
            ),
        )
        if drawn["products"]:
            GrantFactory(offer=self.offers[drawn["products"] - 1], contact=contact)
        return contact

    def walk(self, query: str, rel: str, between=()) -> list[int]:
        """The contact ids of every page from `query` on, following `rel`; `between` adds
        contacts after each page."""
        between = list(between)
        seen = []
        while query:
            response = self.client.get(reverse("contacts:list") + query)
            assert response.status_code == 200, response.content
            page = response.content.decode()
            ids = [int(pk) for pk in ROW.findall(page)]
            assert ids and len(ids) <= PER_PAGE
            seen.append(ids)
            if between:
                for drawn in between.pop(0):
                    self.add(drawn)
            query = link(page, rel)
            assert len(seen) < 50, "the pages never end"
        return seen

    @EXAMPLES
    @given(
        people=st.lists(person, min_size=1, max_size=34),
        added=st.lists(st.lists(person, max_size=3), max_size=4),
    )
    def test_every_contact_once_in_every_sort_though_contacts_are_added_between_pages(
        self, people, added
    ):
        for drawn in people:
            self.add(drawn)
        for sort in SORTS:
            before = set(Contact.objects.filter(site=self.site).values_list("pk", flat=True))
            pages = self.walk(f"?sort={sort}&per_page={PER_PAGE}", "next", between=added)
            listed = [pk for ids in pages for pk in ids]
            assert len(listed) == len(set(listed)), f"{sort}: a contact listed twice"
            assert before <= set(listed), f"{sort}: {before - set(listed)} never listed"
            # Nothing is added now: back from the last page by Previous lists them all,
            # in the same order, and ends on the same whole first page.
            forward = self.walk(f"?sort={sort}&per_page={PER_PAGE}", "next")
            backward = self.walk(f"?sort={sort}&per_page={PER_PAGE}&page=last", "prev")
            assert backward[-1] == forward[0], sort
            order = [pk for ids in forward for pk in ids]
            for ids in backward:
                start = order.index(ids[0])
                assert order[start : start + len(ids)] == ids, sort
            assert {pk for ids in backward for pk in ids} == set(order), sort
            # Every page is whole but the last one Next reaches.
            total = len(order)
            assert all(len(ids) == min(PER_PAGE, total) for ids in backward), sort
            assert all(len(ids) == PER_PAGE for ids in forward[:-1]), sort
