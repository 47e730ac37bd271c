"""PostgreSQL: each page of the Contacts tab, the last one too, in every sort, reads one
range of an index, a page of rows, and never the site's whole table."""

import html
import json
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact
from contacts.services import contacts_recount
from tests.factories import MembershipFactory, SiteFactory

pytestmark = pytest.mark.django_db

CONTACTS = 12_000
PER_PAGE = 25
SORTS = [
    f"{direction}{column}"
    for column in ("contact", "created_at", "last_activity_at", "is_customer", "total_products")
    for direction in ("", "-")
]


def link(page: str, rel: str) -> str:
    return html.unescape(re.search(rf'<a href="/contacts/(\?[^"]*)"[^>]*rel="{rel}"', page)[1])


def nodes(sql: str) -> list[dict]:
    """Every node of the plan PostgreSQL ran for `sql`, outside its per-row subplans."""
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
        (found,) = cursor.fetchone()
    found = json.loads(found) if isinstance(found, str) else found
    walked, todo = [], [found[0]["Plan"]]
    while todo:
        node = todo.pop()
        if node.get("Parent Relationship") == "SubPlan":
            continue
        walked.append(node)
        todo += node.get("Plans", [])
    return walked


@pytest.fixture
def big_site(postgres_only, client):
    member = MembershipFactory()
    other = SiteFactory()
    now = timezone.now()
    Contact.objects.bulk_create(
        Contact(
            site=member.site if i % 4 else other,
            email=f"person{i}@example.com",
            name=f"Person {i % 700}",
            created_at=now - timedelta(minutes=i % 5000),
            last_activity_at=None if i % 3 == 0 else now - timedelta(minutes=i % 900),
        )
        for i in range(CONTACTS)
    )
    contacts_recount(site=member.site)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE contacts_contact")
    client.force_login(member.user)
    return client


@pytest.mark.parametrize("sort", SORTS)
def test_every_page_reads_a_page_of_an_index_not_the_table(big_site, sort):
    if sort.lstrip("-") in ("is_customer", "total_products") and not hasattr(
        Contact, "products_count"
    ):
        pytest.skip("Customer and Total products are sorted by keyset once they are columns")
    url = reverse("contacts:list")
    first = big_site.get(url, {"sort": sort, "per_page": PER_PAGE}).content.decode()
    queries = {"next": link(first, "next"), "last": link(first, "last")}
    last = big_site.get(url + queries["last"]).content.decode()
    queries["previous"] = link(last, "prev")
    for name, query in queries.items():
        with CaptureQueriesContext(connection) as captured:
            response = big_site.get(url + query)
        assert response.status_code == 200
        pages = [
            q["sql"]
            for q in captured
            # The page's rows: every column of the contact, then at most a page.
            if q["sql"].startswith('SELECT "contacts_contact"."id", "contacts_contact"."site_id"')
            and "LIMIT" in q["sql"]
        ]
        assert 1 <= len(pages) <= 2, (sort, name)
        for sql in pages:
            walked = nodes(sql)
            assert not [n for n in walked if n["Node Type"] in ("Sort", "Incremental Sort")], (
                sort,
                name,
            )
            scans = [n for n in walked if n.get("Relation Name") == "contacts_contact"]
            assert scans and all(n["Node Type"].startswith("Index") for n in scans), (sort, name)
            # A few pages' rows at most (the planner may read the ids backwards and skip
            # other sites' rows), where OFFSET reads the site's 9,000 up to the last page.
            for scan in scans:
                read = scan["Actual Rows"] + scan.get("Rows Removed by Filter", 0)
                assert read <= 5 * (PER_PAGE + 1), (sort, name, read)
