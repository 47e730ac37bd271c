"""`make bench`'s figure for Paste emails, on a small school: its counts, and a baseline
taken in the same run (the times themselves are read from the bench, never asserted)."""

from io import StringIO
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.db import connection

from contacts.filters import contacts_matching
from contacts.models import PastedSelection
from kajaccess.management.commands.bench import (
    Command,
    measure_search_and_library,
    report_search_and_library,
    search_sql,
)
from kajaccess.models import Site
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
            "export": {"peak_mb": 1},
            "paste_emails": figure,
            "import": IMPORT_FIGURE,
        }
    )
    assert ratios["paste_emails_vs_by_hand"] == figure["seconds"] / figure["by_hand_seconds"]
    assert "paste_emails_within_5x_by_hand" in targets
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
            pattern = "%" + text.replace("%", "\\%").replace("_", "\\_") + "%"
            cursor.execute(
                search_sql(connection.vendor),
                [member.site.pk, pattern, pattern, member.site.pk, pattern, pattern],
            )
            rows = cursor.fetchall()
        expected = contacts_matching(member.site, f"q={quote(text)}")
        assert {row[2] for row in rows} == {c.email for c in expected}
        assert all(row[-1] == expected.count() for row in rows)
