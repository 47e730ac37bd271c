"""The Contacts tab's pages: First, Previous, Next and Last, its total, and page links
that the table did not make."""

import html
import re
from urllib.parse import parse_qs

import pytest
from django.core import signing
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts import services
from contacts.paging import CURSOR_SALT, NUMBERED_PAGES, KeysetPage
from kajaccess.actors import Actor
from tests.academy import build_academy
from tests.factories import ContactFactory, MembershipFactory, TagFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
URL = reverse("contacts:list")
ROW = re.compile(r'<tr id="contact-row-(\d+)"')


@pytest.fixture
def academy():
    return build_academy()


@pytest.fixture
def creator_client(client, academy):
    client.force_login(academy.creator)
    return client


def ids(response) -> list[int]:
    return [int(pk) for pk in ROW.findall(response.content.decode())]


def pager(response) -> dict[str, str]:
    """The pager's links by their text, each a query string."""
    page = response.content.decode()
    nav = re.search(r'<nav aria-label="Pages">.*?</nav>', page, re.S)
    if nav is None:
        return {}
    return {
        label: html.unescape(query)
        for query, label in re.findall(r'<a href="/contacts/(\?[^"]*)"[^>]*>(\w+)</a>', nav[0])
    }


def current(response) -> str:
    return re.search(r'<span aria-current="page">([^<]+)</span>', response.content.decode())[1]


def test_last_page_then_previous_then_first(creator_client, academy):
    ContactFactory.create_batch(33, site=academy.site)
    newest_first = list(
        academy.site.contacts.order_by("-created_at", "-pk").values_list("pk", flat=True)
    )
    assert len(newest_first) == 35
    last = creator_client.get(URL, {"page": "last", "per_page": 10})
    assert last.status_code == 200
    assert ids(last) == newest_first[-10:]
    assert "26–35 of 35" in last.content.decode()
    assert current(last) == "Page 4 of 4"
    assert set(pager(last)) == {"First", "Previous"}
    previous = creator_client.get(URL + pager(last)["Previous"])
    assert ids(previous) == newest_first[-20:-10]
    assert "16–25 of 35" in previous.content.decode()
    assert set(pager(previous)) == {"First", "Previous", "Next", "Last"}
    # Next from there is the last page again, as a bookmark of either would show.
    assert ids(creator_client.get(URL + pager(previous)["Next"])) == newest_first[-10:]
    first = creator_client.get(URL + pager(previous)["First"])
    assert ids(first) == newest_first[:10]
    assert set(pager(first)) == {"Next", "Last"}
    # The links that lead nowhere are written out, not links.
    assert '<span class="pagination__off">First</span>' in first.content.decode()


def test_a_page_keeps_the_search_sort_and_page_size_and_htmx_pushes_its_address(
    creator_client, academy
):
    ContactFactory.create_batch(30, site=academy.site, name="Person")
    query = {"q": "person", "sort": "-contact", "per_page": 10}
    first = creator_client.get(URL, query, **HTMX)
    following = pager(first)["Next"]
    assert "q=person" in following and "sort=-contact" in following and "per_page=10" in following
    second = creator_client.get(URL + following, **HTMX)
    assert second.status_code == 200
    assert "<html" not in second.content.decode()
    assert second["HX-Push-Url"] == URL + following
    assert "11–20 of 30" in second.content.decode()
    assert not set(ids(first)) & set(ids(second))
    # A sort header starts again from the first page.
    header = re.search(r'<a href="/contacts/(\?[^"]*)"[^>]*>Added', second.content.decode())[1]
    assert "page" not in parse_qs(html.unescape(header).lstrip("?"))


@pytest.mark.parametrize(
    "forged",
    ["abc", "1e400", signing.dumps({"d": "after"}, salt="another"), "x" * 5000, "a\x00b"],
)
def test_a_page_link_the_table_did_not_make_is_refused_with_the_first_page(
    creator_client, academy, forged
):
    response = creator_client.get(URL, {"page": forged})
    assert response.status_code == 400
    page = response.content.decode()
    assert "This page link was not made by this table, or is out of date." in page
    assert ids(response) == ids(creator_client.get(URL))


def test_a_page_link_of_another_sort_or_a_changed_one_is_refused(creator_client, academy):
    ContactFactory.create_batch(30, site=academy.site)
    by_name = pager(creator_client.get(URL, {"sort": "contact", "per_page": 10}))["Next"]
    token = parse_qs(by_name.lstrip("?"))["page"][0]
    response = creator_client.get(URL, {"sort": "-created_at", "page": token})
    assert response.status_code == 400
    assert "This page link is for another order of the table." in response.content.decode()
    payload = signing.loads(token, salt=CURSOR_SALT)
    for broken in ({**payload, "v": ["Ada"]}, {**payload, "v": [1, 2, 3]}, {**payload, "d": "up"}):
        response = creator_client.get(
            URL, {"sort": "contact", "page": signing.dumps(broken, salt=CURSOR_SALT)}
        )
        assert response.status_code == 400
        assert "This page link is out of date." in response.content.decode()


def test_a_page_number_reads_from_the_start_only_so_deep(creator_client, academy):
    ContactFactory.create_batch(120, site=academy.site)
    newest_first = list(
        academy.site.contacts.order_by("-created_at", "-pk").values_list("pk", flat=True)
    )
    third = creator_client.get(URL, {"page": 3, "per_page": 10})
    assert ids(third) == newest_first[20:30]
    assert current(third) == "Page 3 of 13"
    deep = creator_client.get(URL, {"page": NUMBERED_PAGES + 1, "per_page": 10})
    assert deep.status_code == 400
    assert "too far in to open by its number" in deep.content.decode()
    # Beyond the end is the last page, as before.
    assert ids(creator_client.get(URL, {"page": 999, "per_page": 10})) == newest_first[-10:]


def test_the_total_of_the_whole_tab_is_kept_by_the_services_not_counted(creator_client, academy):
    actor = Actor.creator(academy.creator)
    services.contact_create(site=academy.site, email="new@example.com", actor=actor)
    services.contacts_create(
        site=academy.site, people=[("a@example.com", ""), ("b@example.com", "B")], actor=actor
    )
    with CaptureQueriesContext(connection) as queries:
        response = creator_client.get(URL, {"per_page": 10})
    assert "1–5 of 5" in response.content.decode()
    counts = [q["sql"] for q in queries if q["sql"].startswith("SELECT COUNT(")]
    assert counts == []
    # A search is counted, through the filters.
    searched = creator_client.get(URL, {"q": "example.com", "per_page": 10})
    assert "1–5 of 5" in searched.content.decode()
    assert "1–1 of 1" in creator_client.get(URL, {"q": "new@"}).content.decode()


def test_select_all_matching_offers_the_total_over_pages(creator_client, academy):
    tag = TagFactory(site=academy.site)
    for contact in ContactFactory.create_batch(30, site=academy.site):
        contact.tags.add(tag)
    response = creator_client.get(URL, {"tag": tag.pk, "per_page": 10, "page": "last"})
    page = response.content.decode()
    assert "Select all 30 contacts matching this search" in page
    assert 'data-matching="30"' in page


def test_one_page_shows_no_pager(creator_client, academy):
    response = creator_client.get(URL)
    assert response.status_code == 200
    assert pager(response) == {}
    assert "1–2 of 2" in response.content.decode()


def test_another_sites_contacts_never_fill_a_page(client, academy):
    other = MembershipFactory()
    ContactFactory.create_batch(15, site=other.site)
    client.force_login(academy.creator)
    response = client.get(URL, {"page": "last", "per_page": 10})
    assert sorted(ids(response)) == sorted([academy.ada.pk, academy.grace.pk])


@pytest.mark.parametrize(
    "count, shown",
    [
        (1_000_005, "1,000,001–1,000,005 of 1,000,005 contacts"),
        (None, "1,000,001–1,000,005 of more than 10,000 contacts"),
    ],
)
def test_a_long_list_says_its_numbers_in_groups_of_thousands(count, shown):
    page = KeysetPage(
        object_list=list(range(5)),
        count=count,
        per_page=50,
        start_index=1_000_001,
        has_previous=True,
        has_next=False,
        links={"first": "?page=1"},
    )
    html_text = render_to_string(
        "partials/keyset_pager.html", {"page": page, "counted_to": 10_000, "noun": "contacts"}
    )
    assert shown in html_text
    if count:
        assert "Page 20,001 of 20,001" in html_text
