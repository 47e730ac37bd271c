"""A bulk action on many contacts, with its progress and the contacts it was confirmed for."""

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from contacts.models import Contact
from kajaccess.models import ApiKey, Site


class BulkAction(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="bulk_actions")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # The API key it was started with, if it was: its changes are signed with the key's name.
    api_key = models.ForeignKey(
        ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="bulk_actions"
    )
    action = models.CharField(max_length=40)
    params = models.JSONField(default=dict, blank=True)
    selection = models.JSONField(default=dict, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    undo_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="undone_by"
    )
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    cursor = models.BigIntegerField(
        default=0, help_text="The last contact id done: a rerun resumes after it."
    )
    outcome = models.JSONField(
        default=dict, blank=True, help_text="Counts of skipped and failed contacts by reason."
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the run last showed it was alive: as it started and after each chunk.",
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.action} #{self.pk}"

    @property
    def stops(self) -> list[dict]:
        """Each time its worker stopped mid-run: how far it had got, and when it was resumed."""
        return [
            {**stop, "resumed_at": datetime.fromisoformat(stop["resumed_at"])}
            for stop in self.outcome.get("stops", [])
        ]


class BulkActionContact(models.Model):
    """One contact of the set a bulk action was confirmed for; its run acts on these alone.

    Filled once, when the creator confirms, and never changed: a contact deleted or moved
    to another site since keeps its row, so the run can count it as skipped.
    """

    bulk_action = models.ForeignKey(
        BulkAction, on_delete=models.CASCADE, related_name="confirmed_contacts", db_index=False
    )
    # No database constraint: the row records what was confirmed, even once the contact is gone.
    contact = models.ForeignKey(
        Contact, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )

    class Meta:
        constraints = [
            # Also the index the run walks: contacts of one bulk action in id order.
            models.UniqueConstraint(
                fields=["bulk_action", "contact"], name="unique_bulk_action_contact"
            ),
        ]

    def __str__(self) -> str:
        return f"Contact {self.contact_id} of bulk action #{self.bulk_action_id}"
