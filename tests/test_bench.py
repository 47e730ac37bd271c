"""`make bench`'s figure for Paste emails, on a small school: its counts, and a baseline
taken in the same run (the times themselves are read from the bench, never asserted)."""

import pytest

from contacts.models import PastedSelection
from kajaccess.management.commands.bench import Command
from tests.factories import ContactFactory, MembershipFactory

pytestmark = pytest.mark.django_db


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
        }
    )
    assert ratios["paste_emails_vs_by_hand"] == figure["seconds"] / figure["by_hand_seconds"]
    assert "paste_emails_within_5x_by_hand" in targets
    assert not PastedSelection.objects.exists()
