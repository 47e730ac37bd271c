"""The audit trail of every change of access or billing state, and of a contact's details."""

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from contacts.models import Contact
from kajaccess.actors import ActorKind
from kajaccess.models import ApiKey, Site, SiteMembership
from products.models import Product
from purchases.models.access import Grant
from purchases.models.bulk import BulkAction


class AccessEvent(models.Model):
    """The audit trail: one row for every change of access or billing state. Append-only."""

    class Kind(models.TextChoices):
        GRANTED = "granted", "Offer granted"
        REVOKED = "revoked", "Access revoked"
        RESTORED = "restored", "Access restored"
        PRODUCT_REVOKED = "product_revoked", "Product access revoked"
        PRODUCT_RESTORED = "product_restored", "Product access restored"
        PRODUCT_ADDED = "product_added", "Product added to offer"
        PRODUCT_REMOVED = "product_removed", "Product removed from offer"
        CANCELLATION_SCHEDULED = "cancellation_scheduled", "Cancellation scheduled"
        CANCELLATION_STOPPED = "cancellation_stopped", "Cancellation stopped"
        SUBSCRIPTION_CANCELED = "subscription_canceled", "Payments canceled"
        SUBSCRIPTION_PAUSED = "subscription_paused", "Payments paused"
        SUBSCRIPTION_RESUMED = "subscription_resumed", "Payments resumed"
        PAYMENT_SUCCEEDED = "payment_succeeded", "Payment succeeded"
        PAYMENT_FAILED = "payment_failed", "Payment failed"
        PLAN_COMPLETED = "plan_completed", "Payment plan completed"
        CONTACT_ADDED = "contact_added", "Contact added"
        CONTACT_EDITED = "contact_edited", "Contact details changed"
        ACCESS_DATES_CHANGED = "access_dates_changed", "Access dates changed"

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="access_events")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="access_events")
    grant = models.ForeignKey(
        Grant, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=40, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_kind = models.CharField(max_length=20, choices=ActorKind.choices)
    # The role the member held when they made the change: a later change of role leaves it.
    actor_role = models.CharField(
        max_length=20, choices=SiteMembership.Role.choices, blank=True, default=""
    )
    # The API key the change was made with; `actor` is then the member who made the key.
    api_key = models.ForeignKey(
        ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    reason = models.CharField(max_length=500, blank=True)
    bulk_action = models.ForeignKey(
        BulkAction, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    at = models.DateTimeField(default=timezone.now)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [
            # A site's trail in the Activity tab's order (a bulk action's rows share their
            # moment: the id breaks the tie), carrying what its filters read.
            models.Index(
                fields=["site", "-at", "-id", "kind", "actor_kind"], name="event_site_at_id"
            ),
            models.Index(fields=["contact", "-at"], name="event_contact_at"),
            models.Index(fields=["bulk_action", "grant"], name="event_bulk_grant"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.contact}"

    @property
    def date_changes(self) -> list[tuple[str, datetime | None, datetime | None]]:
        """An access dates change's old and new dates, for the timeline and the Activity."""
        if self.kind != self.Kind.ACCESS_DATES_CHANGED:
            return []
        changes = []
        for key, label in (("starts_at", "Start"), ("expires_at", "End")):
            if key in self.details:
                old, new = (datetime.fromisoformat(v) if v else None for v in self.details[key])
                changes.append((label, old, new))
        return changes
