"""`make bench`'s figures on a small school: their counts, and baselines taken in the same
run (the times themselves are read from the bench, never asserted); the site grown by
copies of its first customers, as the bench grows it to a million."""

import csv
import io
import os
from io import StringIO
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.urls import reverse

from contacts.filters import contacts_matching
from contacts.models import Contact, PastedSelection
from kajaccess.demo.copies import grow_demo_academy
from kajaccess.demo.named import DEMO_ACADEMY
from kajaccess.management.commands.bench import (
    Command,
    measure_search_and_library,
    report_search_and_library,
)
from kajaccess.models import Site
from kajaccess.scale import (
    ISSUE_PAGES,
    World,
    clients,
    parse_sizes,
    progress_rows_sql,
    scale_table,
    search_sql,
)
from purchases.access.facts import reconcile_access_facts
from purchases.models import Payment, ProductHolder
from tests.factories import ContactFactory, MembershipFactory, OfferFactory, ProductFactory

pytestmark = pytest.mark.django_db


IMPORT_FIGURE = {
    "check_seconds": 1.0,
    "run_seconds": 1.0,
    "raw_insert_seconds": 1.0,
    "run_peak_mb": 1.0,
    "tenth_run_peak_mb": 1.0,
}


def test_the_bench_imports_a_file_of_known_new_and_bad_rows_with_an_offer():
    member = MembershipFactory()
    offer = OfferFactory(site=member.site, products=[ProductFactory(site=member.site)])
    ContactFactory.create_batch(300, site=member.site)
    figure = Command().measure_import(member.site, member.user, offer, rows=400)
    # Half known (in capitals), the rest new but for 100 rows that are not emails; the
    # run's memory beside that of a tenth of the rows, and a baseline, in the same run.
    assert (figure["rows"], figure["created"], figure["granted"]) == (400, 100, 300)
    assert figure["status"] == "done"
    assert figure["run_peak_mb"] > 0 and figure["tenth_run_peak_mb"] > 0
    assert figure["raw_insert_seconds"] > 0
    # The baseline's contacts were rolled back; the three imports' stay.
    assert member.site.contacts.filter(email__startswith="raw-").count() == 0


def test_the_bench_pastes_the_emails_against_the_same_work_by_hand_and_keeps_nothing():
    member = MembershipFactory()
    ContactFactory.create_batch(30, site=member.site)
    ContactFactory.create_batch(5)  # another site's: never matched
    figure = Command().measure_paste(member.site, member.user, emails=40, repeat=2)
    assert (figure["emails"], figure["matched"], figure["not_found"]) == (40, 20, 20)
    assert figure["seconds"] > 0 and figure["by_hand_seconds"] > 0
    ratios, targets = Command.judge(
        {
            "pages": {
                name: {"seconds": 1.0}
                for name in (
                    "Contacts tab (50 rows)",
                    "Admin contact changelist (50 rows)",
                    "Raw SQL (same 50 rows and count)",
                )
            },
            "bulk_revoke": {"bulk_seconds": 1.0, "raw_sql_seconds": 1.0},
            "revoke_and_undo": {"revoke": {"ratio": 1.5}, "undo": {"ratio": 3.0}},
            "export": {"peak_mb": 1},
            "paste_emails": figure,
            "import": IMPORT_FIGURE,
        }
    )
    assert ratios["paste_emails_vs_by_hand"] == figure["seconds"] / figure["by_hand_seconds"]
    assert "paste_emails_within_5x_by_hand" in targets
    assert targets["bulk_revoke_of_biggest_offer_within_2x_raw_sql"]
    assert not targets["bulk_undo_of_biggest_offer_within_2x_raw_sql"]
    assert not PastedSelection.objects.exists()


def test_the_bench_times_a_search_and_a_library_each_beside_its_baseline():
    call_command("seed_demo", "--contacts", "30", stdout=StringIO())
    site = Site.objects.get(slug="demo-academy")
    figure = measure_search_and_library(site, repeat=2, text="customer00001")
    # customer000010 to customer000019: the page and the SQL by hand find the same ten.
    assert figure["found"] == 10
    assert figure["search_queries"] > 0 and figure["library_queries"] > 0
    assert figure["search_vs_by_hand"] == figure["search_seconds"] / figure["by_hand_seconds"]
    assert figure["library_vs_admin"] == (
        figure["library_seconds"] / figure["admin_changelist_seconds"]
    )
    lines = []
    report_search_and_library(lines.append, figure)
    assert lines[0].startswith('Search "customer00001" (10 found)')
    assert lines[1].startswith("Library of ada@example.com")


def test_the_search_by_hand_finds_what_the_contacts_tab_finds():
    member = MembershipFactory()
    for email in ("ada@example.com", "grace@example.com", "x_a%da@example.com"):
        ContactFactory(site=member.site, email=email, name="")
    for text in ("ada", "A%D", "_"):
        with connection.cursor() as cursor:
            cursor.execute(*search_sql(member.site.pk, text))
            rows = cursor.fetchall()
        expected = contacts_matching(member.site, f"q={quote(text)}")
        assert {row[2] for row in rows} == {c.email for c in expected}
        assert all(row[-1] == expected.count() for row in rows)


@pytest.fixture
def demo():
    """The demo with 4 generated customers, as `make bench` seeds its first block."""
    call_command("seed_demo", contacts=4, stdout=open(os.devnull, "w"))
    return Site.objects.get(slug=DEMO_ACADEMY)


def story(contact: Contact) -> tuple:
    """What a customer holds and did, without ids: a copy must tell the same story."""
    return (
        contact.name,
        sorted(contact.grants.values_list("offer__title", "status", "starts_at", "expires_at")),
        sorted(
            contact.grants.values_list(
                "product_accesses__product__title", "product_accesses__status"
            )
        ),
        sorted(
            contact.grants.filter(subscription__isnull=False).values_list(
                "subscription__status", "subscription__next_billing_at"
            )
        ),
        Payment.objects.filter(subscription__grant__contact=contact).count(),
        sorted(contact.completions.values_list("lesson__title", "completed_at")),
        sorted(contact.tags.values_list("name", flat=True)),
        sorted(contact.access_events.values_list("kind", "at", "grant__offer__title")),
    )


def test_growing_the_site_copies_its_first_customers_under_the_next_numbers(demo):
    added = grow_demo_academy(site=demo, contacts=12, block=4, report=lambda text: None)
    assert added == 8
    generated = demo.contacts.filter(email__startswith="customer").order_by("email")
    assert [c.email for c in generated] == [f"customer{n:06d}@example.com" for n in range(1, 13)]
    first = {c.email: c for c in generated[:4]}
    for contact in generated[4:]:
        number = int(contact.email[8:14])
        original = first[f"customer{(number - 1) % 4 + 1:06d}@example.com"]
        assert story(contact) == story(original)
    assert story(generated[0])[1], "the first customer holds grants: the copies were compared"
    # The copies carry their access facts, counters included: nothing to recompute.
    assert reconcile_access_facts(fix=False) == []
    assert ProductHolder.objects.filter(contact__in=generated).count() == 3 * (
        ProductHolder.objects.filter(contact__in=generated[:4]).count()
    )
    # Asked again, nothing more; and a new contact still gets an id of its own (PostgreSQL's
    # sequence was moved past the copies).
    assert grow_demo_academy(site=demo, contacts=12, block=4, report=print) == 0
    assert ContactFactory(site=demo).pk > generated.order_by("pk").last().pk


def test_the_site_grows_only_by_whole_blocks(demo):
    with pytest.raises(CommandError, match="whole blocks of 4"):
        grow_demo_academy(site=demo, contacts=10, block=4, report=print)


def test_the_bench_measures_every_page_of_the_issue_at_each_size(demo):
    sizes = Command().measure_sizes(demo, parse_sizes("8,4"), block=4, repeat=1)
    assert list(sizes) == ["4", "8"]
    assert demo.contacts.filter(email__startswith="customer").count() == 8
    for figures in sizes.values():
        assert set(figures["pages"]) == set(ISSUE_PAGES)
        assert {"search", "counters", "rows"} <= set(figures["baselines"])
        for page in figures["pages"].values():
            assert page["queries"] > 0 and page["seconds"] > 0
            assert page["vs_admin"] > 0 and page["vs_smallest"] > 0
    assert sizes["4"]["pages"]["Contacts tab"]["vs_smallest"] == 1.0
    assert sizes["8"]["added"] == 4 and sizes["4"]["added"] == 0
    search = sizes["8"]["pages"]['Contacts, search "customer0001"']
    assert search["vs_baseline"] == search["seconds"] / sizes["8"]["baselines"]["search"]
    table = scale_table(sizes)
    assert table.splitlines()[0].startswith("| page | queries | 4 ms | 8 ms |")
    for name in ISSUE_PAGES:
        assert f"| {name} |" in table


def test_the_progress_rows_by_hand_are_the_rows_of_the_progress_csv(demo):
    world = World.of(demo)
    response = clients()["creator"].get(
        reverse("products:progress_csv", args=[world.python_basics])
    )
    written = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))[1:]
    sql, params = progress_rows_sql(world)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    assert len(rows) > 1
    assert [(name, email, str(done)) for name, email, done, *_ in rows] == [
        (name, email, done) for name, email, done, *_ in written
    ]


def test_sizes_are_numbers():
    assert parse_sizes("1_000_000, 10000,10000") == [10000, 1000000]
    with pytest.raises(CommandError):
        parse_sizes("ten")


def test_seed_demo_replays_the_first_block_and_copies_it_for_the_rest():
    out = io.StringIO()
    call_command("seed_demo", contacts=8, copy_block=4, stdout=out)
    site = Site.objects.get(slug=DEMO_ACADEMY)
    assert site.contacts.filter(email__startswith="customer").count() == 8
    assert "Copied 4 contacts" in out.getvalue()


def test_the_export_is_measured_by_its_rows(demo):
    figures = Command().measure_export(demo)
    assert figures["rows"] == demo.contacts.count() > 4
