"""The Contacts tab's search: part of a name or email, found by index on both databases.

Every test here runs on the database it is given; those about one database's index say so.
"""

import time
from unittest import mock

import pytest
from django.db import connection
from django.db.models import Q
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts.filters import contacts_matching
from contacts.models import Contact
from contacts.search import (
    STATISTICS_KEPT_SECONDS,
    TABLE,
    common_trigrams,
    ensure_contact_search,
    forget_common_trigrams,
    index_part,
    search_contacts,
)
from tests.factories import ContactFactory, MembershipFactory, SiteFactory

pytestmark = pytest.mark.django_db

PEOPLE = [
    ("Ada Lovelace", "ada@example.com"),
    ("Grace Hopper", "Grace.Hopper@Navy.example"),
    ("Élodie Durand", "elodie@example.fr"),
    ("élodie martin", "martin@example.fr"),
    ("Straße Müller", "strasse@example.de"),
    ("100% Sure", "sure_thing@example.com"),
    ("A_B Test", "ab@example.com"),
    ('Quote "Q" Person', "quote@example.com"),
    ("Al", "al@example.com"),
]


@pytest.fixture
def site():
    site = SiteFactory()
    for name, email in PEOPLE:
        ContactFactory(site=site, name=name, email=email)
    return site


def found(site, text) -> set[str]:
    return {c.name for c in contacts_matching(site, f"q={text}" if text else "")}


def plainly_rows(site, text):
    """What a plain contains-search, with no index, finds."""
    return Contact.objects.filter(site=site).filter(
        Q(name__icontains=text) | Q(email__icontains=text)
    )


def plainly(site, text) -> set[str]:
    return {c.name for c in plainly_rows(site, text)}


def sqlite_only():
    if connection.vendor != "sqlite":
        pytest.skip("about SQLite's search table")


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("lovelace", {"Ada Lovelace"}),
        ("LOVELACE", {"Ada Lovelace"}),
        ("grace.hopper@navy", {"Grace Hopper"}),
        ("GRACE.HOPPER@NAVY.EXAMPLE", {"Grace Hopper"}),
        ("@example.fr", {"Élodie Durand", "élodie martin"}),
        ("ülle", {"Straße Müller"}),
        ("aße", {"Straße Müller"}),
        ("100%", {"100% Sure"}),
        ("%", {"100% Sure"}),
        ("e_t", {"100% Sure"}),
        ("_", {"100% Sure", "A_B Test"}),
        ("a_b", {"A_B Test"}),
        ('"q"', {'Quote "Q" Person'}),
        ('"', {'Quote "Q" Person'}),
        ("al", {"Al"}),
        ("la", {"Ada Lovelace"}),
        ("Z", set()),
        ("lovelacex", set()),
    ],
)
def test_search_finds_part_of_a_name_or_email_in_any_letter_case(site, text, names):
    assert found(site, text) == names
    assert found(site, text) == plainly(site, text)


def test_short_text_of_one_or_two_letters_still_finds_every_contact_holding_it(site):
    assert found(site, "o") == plainly(site, "o")
    assert "Grace Hopper" in found(site, "o")
    assert found(site, "ad") == {"Ada Lovelace"}


def test_letter_case_of_other_alphabets_is_folded_on_postgresql_only(site):
    # Said plainly in the README: SQLite's LIKE folds only the letters A to Z.
    if connection.vendor == "postgresql":
        assert found(site, "élodie") == {"Élodie Durand", "élodie martin"}
        assert found(site, "ÉLODIE") == {"Élodie Durand", "élodie martin"}
    else:
        assert found(site, "élodie") == {"élodie martin"}
        assert found(site, "ÉLODIE") == {"Élodie Durand"}
        assert found(site, "LODIE") == {"Élodie Durand", "élodie martin"}


def test_search_stays_within_the_site(site):
    ContactFactory(site=SiteFactory(), name="Ada Lovelace", email="ada@example.com")
    assert [c.site_id for c in contacts_matching(site, "q=lovelace")] == [site.pk]


NAMES = st.text(alphabet="aAbB_%é É\"'ß-", max_size=8)


# Trigrams of NAMES' letters, some of which a draw calls common.
TRIGRAMS = st.sets(st.text(alphabet="abéß", min_size=3, max_size=3), max_size=6)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    names=st.lists(NAMES, min_size=1, max_size=6),
    text=NAMES.filter(str.strip),
    common=TRIGRAMS,
)
def test_search_finds_exactly_what_a_plain_contains_search_finds(names, text, common):
    # Whichever trigrams the statistics call common, and so whichever part of the text the
    # index is asked for, the contacts found are those holding the whole text.
    site = SiteFactory()
    for n, name in enumerate(names):
        ContactFactory(site=site, name=name, email=f"{name.replace(' ', '') or 'x'}{n}@example.com")
    queryset = Contact.objects.filter(site=site)
    with mock.patch("contacts.search.common_trigrams", return_value=common):
        searched = set(search_contacts(queryset, text))
    assert searched == set(queryset.filter(Q(name__icontains=text) | Q(email__icontains=text)))


CUSTOMER = {"cus", "ust", "sto", "tom", "ome", "mer"}


@pytest.mark.parametrize(
    ("text", "common", "part"),
    [
        ("customer0001", CUSTOMER, "er0001"),
        ("CUSTOMER0001", CUSTOMER, "ER0001"),
        ("ada@gmail.com", {"gma", "mai", "ail", "com"}, "ada@gm"),
        ("lovelace@gmail.com", {"gma", "mai", "ail", "com"}, "lovelace@gm"),
        ("Ada Lovelace", CUSTOMER, "Ada Lovelace"),
        # Every trigram common, or none left in the rest: the whole text, as before.
        ("customer", CUSTOMER, "customer"),
        ("a@b.com", {"com"}, "a@b.com"),
    ],
)
def test_the_index_is_asked_for_the_longest_part_of_the_text_without_a_common_trigram(
    text, common, part
):
    assert index_part(text, common) == part
    assert part in text


@given(
    text=st.text(alphabet="abAB01@. _", max_size=24),
    common=st.sets(st.text(alphabet="ab01", min_size=3, max_size=3), max_size=8),
)
def test_the_part_asked_for_is_of_the_text_and_holds_a_trigram_and_no_common_one(text, common):
    part = index_part(text, common)
    assert part in text
    if part != text:
        trigrams = {part[i : i + 3] for i in range(len(part) - 2)}
        assert not {t.lower() for t in trigrams} & common
        assert any(t.isalnum() for t in trigrams)


def test_a_search_of_a_common_part_still_finds_the_whole_text_only(site):
    ContactFactory(site=site, name="Customer One", email="customer0001@example.com")
    ContactFactory(site=site, name="Customer Two", email="customer0002@example.com")
    ContactFactory(site=site, name="Other", email="other0001@example.com")
    with mock.patch("contacts.search.common_trigrams", return_value=CUSTOMER):
        assert found(site, "customer0001") == {"Customer One"}
        assert found(site, "CUSTOMER000") == {"Customer One", "Customer Two"}


def test_the_search_box_says_what_it_matches(client):
    membership = MembershipFactory()
    client.force_login(membership.user)
    html = client.get(reverse("contacts:list")).content.decode()
    assert ">Search</label>" in html
    assert 'placeholder="Part of a name or email"' in html


def test_sqlite_search_table_follows_every_write_to_contacts(site):
    sqlite_only()
    ada = Contact.objects.get(site=site, name="Ada Lovelace")
    ada.name = "Ada King"
    ada.save()
    assert found(site, "lovelace") == set()
    assert found(site, "king") == {"Ada King"}
    Contact.objects.filter(pk=ada.pk).update(email="countess@example.com")
    assert found(site, "countess") == {"Ada King"}
    assert found(site, "ada@") == set()
    Contact.objects.bulk_create([Contact(site=site, name="Alan Turing", email="alan@example.com")])
    assert found(site, "turing") == {"Alan Turing"}
    ada.delete()
    assert found(site, "king") == set()
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {TABLE}({TABLE}) VALUES ('integrity-check')")


def test_sqlite_search_table_is_mended_after_the_contacts_table_is_rebuilt(site):
    sqlite_only()
    # What SQLite's table rebuild (a later migration) does to the triggers: drops them.
    with connection.cursor() as cursor:
        for event in ("insert", "update", "delete"):
            cursor.execute(f"DROP TRIGGER {TABLE}_{event}")
    ContactFactory(site=site, name="Written Meanwhile", email="meanwhile@example.com")
    assert ensure_contact_search(connection, create=False) is True
    assert found(site, "meanwhile") == {"Written Meanwhile"}
    assert ensure_contact_search(connection, create=False) is False


def test_sqlite_search_reads_the_search_table(site):
    sqlite_only()
    sql, params = contacts_matching(site, "q=lovelace").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert f"{TABLE} VIRTUAL TABLE INDEX" in plan


def _customers(count: int, name: str):
    """A site of `count` contacts customer000001@example.com and on, named by the SQL
    `name` of their number n; analysed, and its statistics read afresh by the search."""
    site = SiteFactory()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO contacts_contact (site_id, name, email, test_card_declines, created_at)"
            f" SELECT %s, {name}, 'customer' || lpad(n::text, 6, '0') || '@example.com',"
            " false, now() FROM generate_series(1, %s) AS n",
            [site.pk, count],
        )
        cursor.execute("ANALYZE contacts_contact")
    forget_common_trigrams()
    return site


def _plan(matching) -> str:
    sql, params = matching.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_postgresql_search_uses_the_trigram_indexes_at_200k_contacts(postgres_only):
    site = _customers(200_000, "'Customer ' || lpad(n::text, 6, '0')")
    for text in ("customer0001", "CUSTOMER0001@EXAMPLE", "ustomer 00012"):
        matching = contacts_matching(site, f"q={text}")
        plan = _plan(matching)
        assert "contact_name_trgm" in plan or "contact_email_trgm" in plan, plan
        assert "Seq Scan on contacts_contact" not in plan, plan
        assert {c.pk for c in matching} == {c.pk for c in plainly_rows(site, text)}
    assert matching.count() == 10
    assert contacts_matching(site, "q=customer0001").count() == 100


def test_postgresql_asks_its_trigram_index_only_for_trigrams_few_contacts_hold(postgres_only):
    # "cus", "er0" and "com" are in every contact's email: the index would read every
    # contact's entry for each; its statistics say so, and the index is asked for "r0001".
    # "r00" is in a ninth of them (customer00...): kept, as it narrows the search.
    site = _customers(90_000, "'Member ' || n")
    assert CUSTOMER | {"er0", "com", "exa"} <= common_trigrams(connection)
    assert "r00" not in common_trigrams(connection)
    assert "ber" in common_trigrams(connection)  # of the names: "Member"
    matching = contacts_matching(site, "q=customer0001")
    plan = _plan(matching)
    assert "~~ '%R0001%'" in plan, plan
    assert "Bitmap Index Scan on contact_email_trgm" in plan, plan
    assert "~~ '%CUSTOMER0001%'" not in plan, plan
    assert {c.pk for c in matching} == {c.pk for c in plainly_rows(site, "customer0001")}
    assert matching.count() == 100


def test_postgresql_reads_the_statistics_once_a_minute(postgres_only, django_assert_num_queries):
    forget_common_trigrams()
    with django_assert_num_queries(1):
        common_trigrams(connection)
    with django_assert_num_queries(0):
        common_trigrams(connection)
    later = time.monotonic() + STATISTICS_KEPT_SECONDS + 1
    with mock.patch("contacts.search.time.monotonic", return_value=later):
        with django_assert_num_queries(1):
            common_trigrams(connection)
