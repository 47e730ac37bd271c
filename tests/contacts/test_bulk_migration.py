"""Bulk actions queued before their contacts were stored get them when the database is
migrated: checked contacts and an undo's contacts exactly; an "all matching" selection,
whose filters may have changed since it was confirmed, stops instead of acting on them."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("purchases", "0004_accessevent_site_at_covering"), ("contacts", "0001_initial")]
AFTER = [("purchases", "0005_bulkactioncontact")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture(autouse=True)
def latest_schema_after():
    """The tests after this one find every migration applied again."""
    yield
    executor = MigrationExecutor(connection)
    migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_unfinished_bulk_actions_get_their_contacts_or_stop():
    old = migrate(BEFORE)
    Site = old.get_model("kajaccess", "Site")
    Contact = old.get_model("contacts", "Contact")
    BulkAction = old.get_model("purchases", "BulkAction")
    site, elsewhere = (
        Site.objects.create(name="A", slug="a"),
        Site.objects.create(name="B", slug="b"),
    )
    ours = [Contact.objects.create(site=site, email=f"c{i}@example.com") for i in range(3)]
    theirs = Contact.objects.create(site=elsewhere, email="x@example.com")
    checked = BulkAction.objects.create(
        site=site,
        action="add_tag",
        params={"tag": "x"},
        selection={"ids": [ours[0].pk, ours[1].pk, theirs.pk]},
        status="pending",
        total=3,
        processed=1,
        skipped=1,
    )
    matching = BulkAction.objects.create(
        site=site,
        action="add_tag",
        params={"tag": "x"},
        selection={"all": True, "query": "tag=7"},
        status="running",
        total=3,
        processed=1,
        changed=1,
    )
    done = BulkAction.objects.create(
        site=site, action="add_tag", selection={"ids": [ours[2].pk]}, status="done", total=1
    )

    new = migrate(AFTER)
    Stored = new.get_model("purchases", "BulkActionContact")
    BulkAction = new.get_model("purchases", "BulkAction")
    stored = set(Stored.objects.values_list("bulk_action_id", "contact_id"))
    assert stored == {(checked.pk, ours[0].pk), (checked.pk, ours[1].pk)}
    matching = BulkAction.objects.get(pk=matching.pk)
    assert (matching.status, matching.processed, matching.failed, matching.changed) == (
        "done",
        3,
        2,
        1,
    )
    assert list(matching.outcome["failed"].values()) == [2]
    assert "Select them again" in next(iter(matching.outcome["failed"]))
    assert BulkAction.objects.get(pk=done.pk).status == "done"
