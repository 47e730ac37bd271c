"""Property-based: whatever a file holds (new and known emails in any letter case, duplicates,
entries that are not emails, names too long, tags) and whatever the creator chooses, an
import's run does exactly what its preview counted, and importing the same file again with
the same choices changes nothing."""

import csv
import io

from django.test import TestCase as DjangoTestCase
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from contacts.imports.plan import Choices
from contacts.imports.rows import Mapping
from contacts.imports.steps import import_check, import_start, import_upload, preview_token
from contacts.models import Contact
from purchases.models import AccessEvent
from tests.academy import build_academy

EMAILS = st.sampled_from(
    [
        "ada@example.com",
        "ADA@Example.com",
        "grace@example.com",
        "new1@example.com",
        "New1@example.com",
        "new2@example.com",
        "new3@example.org",
        "not an email",
        "",
        "x" * 250 + "@example.com",
    ]
)
NAMES = st.sampled_from(["", "Ada King", "New Person", "Ada Lovelace", "n" * 201])
TAGS = st.sampled_from(["", "vip", "VIP; alumni", "spring, vip", "t" * 81])
ROWS = st.lists(st.tuples(EMAILS, NAMES, TAGS), min_size=1, max_size=12)
CHOICES = st.fixed_dictionaries(
    {
        "offer": st.booleans(),
        "tag": st.sampled_from(["", "Imported", "vip"]),
        "update_existing": st.booleans(),
    }
)


def as_csv(rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Email", "Name", "Tags"])
    writer.writerows(rows)
    return out.getvalue().encode()


class ImportProperties(TestCase):
    def setUp(self):
        self.academy = build_academy()

    def _import(self, data: bytes, choices: Choices):
        academy = self.academy
        contact_import = import_upload(
            site=academy.site, user=academy.creator, name="f.csv", data=data
        )
        mapping = Mapping(email=0, name=1, tags=2)
        tally = import_check(contact_import=contact_import, mapping=mapping, choices=choices)
        with DjangoTestCase.captureOnCommitCallbacks(execute=True):
            bulk = import_start(
                contact_import=contact_import,
                user=academy.creator,
                token=preview_token(contact_import),
            )
        bulk.refresh_from_db()
        return tally, bulk

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(rows=ROWS, chosen=CHOICES)
    def test_the_run_is_its_preview_and_a_second_run_changes_nothing(self, rows, chosen):
        if not any(any(cell for cell in row) for row in rows):
            return  # a file of blank rows is refused before any preview
        choices = Choices(
            offer=self.academy.bootcamp if chosen["offer"] else None,
            tag=chosen["tag"],
            update_existing=chosen["update_existing"],
        )
        data = as_csv(rows)
        contacts_before = Contact.objects.count()
        tally, bulk = self._import(data, choices)
        counted = bulk.outcome.get("counted", {})
        assert counted.get("added", 0) == tally.create
        assert counted.get("updated", 0) == tally.update
        assert counted.get("granted", 0) == tally.grant
        assert bulk.outcome.get("skipped", {}) == dict(tally.skipped)
        assert bulk.changed == tally.changes
        assert Contact.objects.count() == contacts_before + tally.create
        added = AccessEvent.objects.filter(bulk_action=bulk, kind=AccessEvent.Kind.CONTACT_ADDED)
        assert added.count() == tally.create

        events = AccessEvent.objects.count()
        again, second = self._import(data, choices)
        assert (again.create, again.update, again.grant, again.changes) == (0, 0, 0, 0)
        assert second.changed == 0 and AccessEvent.objects.count() == events
