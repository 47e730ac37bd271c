import django.db.models.deletion
from django.db import migrations, models
from django.utils import timezone

UNFINISHED = ["pending", "running"]
NOT_STORED = (
    "Stopped: its contacts were not stored when it was confirmed. "
    "Select them again and start a new bulk action."
)


def store_unfinished_selections(apps, schema_editor):
    """Give every unfinished bulk action the contacts it acts on.

    Checked contacts and an undo's contacts are known exactly. An "all matching" selection
    would have to be rebuilt from filters that may have changed since it was confirmed, so
    it stops here instead, its remaining contacts counted as failed with the reason.
    """
    BulkAction = apps.get_model("purchases", "BulkAction")
    BulkActionContact = apps.get_model("purchases", "BulkActionContact")
    Contact = apps.get_model("contacts", "Contact")
    AccessEvent = apps.get_model("purchases", "AccessEvent")
    for bulk in BulkAction.objects.filter(status__in=UNFINISHED).order_by("pk"):
        selection = bulk.selection or {}
        if selection.get("all"):
            left = max(bulk.total - bulk.processed, 0)
            outcome = dict(bulk.outcome or {})
            failed = dict(outcome.get("failed", {}))
            failed[NOT_STORED] = failed.get(NOT_STORED, 0) + left
            bulk.outcome = {**outcome, "failed": failed}
            bulk.failed += left
            bulk.processed = bulk.total
            bulk.status = "done"
            bulk.finished_at = timezone.now()
            bulk.save(update_fields=["outcome", "failed", "processed", "status", "finished_at"])
            continue
        if "undo_of" in selection:
            ids = AccessEvent.objects.filter(
                bulk_action_id=selection["undo_of"],
                grant__isnull=False,
                contact__site_id=bulk.site_id,
            ).values_list("contact_id", flat=True)
        else:
            ids = Contact.objects.filter(
                site_id=bulk.site_id, pk__in=selection.get("ids", [])
            ).values_list("pk", flat=True)
        BulkActionContact.objects.bulk_create(
            [BulkActionContact(bulk_action_id=bulk.pk, contact_id=pk) for pk in set(ids)],
            batch_size=1000,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0001_initial"),
        ("purchases", "0004_accessevent_site_at_covering"),
    ]

    operations = [
        migrations.CreateModel(
            name="BulkActionContact",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "bulk_action",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="confirmed_contacts",
                        to="purchases.bulkaction",
                    ),
                ),
                (
                    "contact",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="contacts.contact",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("bulk_action", "contact"), name="unique_bulk_action_contact"
                    )
                ],
            },
        ),
        migrations.RunPython(store_unfinished_selections, migrations.RunPython.noop),
    ]
