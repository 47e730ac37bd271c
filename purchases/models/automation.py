"""Automations: when something happens to a contact, grant or revoke an offer."""

from django.db import models
from django.db.models import Q

from contacts.models import Tag
from kajaccess.models import Site
from products.models import Offer


class Automation(models.Model):
    class Trigger(models.TextChoices):
        TAG_ADDED = "tag_added", "A tag is added"
        PAYMENT_FAILED = "payment_failed", "A payment failed for an offer"
        SUBSCRIPTION_CANCELED = "subscription_canceled", "A subscription to an offer was canceled"
        OFFER_GRANTED = "offer_granted", "An offer was granted"

    class Action(models.TextChoices):
        GRANT_OFFER = "grant_offer", "Grant offer"
        REVOKE_OFFER = "revoke_offer", "Revoke offer"

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="automations")
    trigger = models.CharField(max_length=30, choices=Trigger.choices)
    trigger_tag = models.ForeignKey(
        Tag, on_delete=models.CASCADE, null=True, blank=True, related_name="automations"
    )
    trigger_offer = models.ForeignKey(
        Offer, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="automations")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(trigger="tag_added", trigger_tag__isnull=False)
                    | (~Q(trigger="tag_added") & Q(trigger_offer__isnull=False))
                ),
                name="automation_trigger_has_subject",
            ),
        ]

    def __str__(self) -> str:
        return f"When {self.get_trigger_display().lower()}, {self.get_action_display().lower()} {self.offer}"
