"""What a grant costs: a one-time Purchase, or a Subscription and its Payments."""

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from products.models import Offer
from purchases.models.access import Grant


class Purchase(models.Model):
    grant = models.OneToOneField(Grant, on_delete=models.CASCADE, related_name="purchase")
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    purchased_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="purchase_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} for {self.grant}"


class Subscription(models.Model):
    """Billing for a subscription or a payment plan (installments_total set)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        PAST_DUE = "past_due", "Past due"
        CANCELED = "canceled", "Canceled"
        COMPLETED = "completed", "Completed"

    grant = models.OneToOneField(Grant, on_delete=models.CASCADE, related_name="subscription")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    interval = models.CharField(max_length=10, choices=Offer.Interval.choices, default="month")
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    next_billing_at = models.DateTimeField(null=True, blank=True)
    paused_until = models.DateTimeField(null=True, blank=True)
    cancel_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    installments_total = models.PositiveIntegerField(null=True, blank=True)
    installments_paid = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=0), name="subscription_amount_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(installments_total__isnull=True)
                | Q(installments_paid__lte=F("installments_total")),
                name="installments_paid_within_total",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_billing_at"], name="subscription_due"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.grant}"

    @property
    def is_payment_plan(self) -> bool:
        return self.installments_total is not None

    def get_kind_display(self) -> str:
        return "Payment plan" if self.is_payment_plan else "Subscription"

    @property
    def is_billing(self) -> bool:
        """Still taking money: the warning in the revoke popup depends on this."""
        return self.status in (self.Status.ACTIVE, self.Status.PAST_DUE)

    @property
    def display_status(self) -> str:
        if self.cancel_at and self.is_billing:
            return "Cancellation pending"
        return self.get_status_display()

    LATEST_PAYMENTS = 3

    @property
    def latest_payments(self) -> list["Payment"]:
        """The few latest payments it shows, newest first.

        Selectors prefetch them, into `prefetched_latest_payments` (a sliced Prefetch) or
        as `payments`; without a prefetch this costs one query.
        """
        prefetched = getattr(self, "prefetched_latest_payments", None)
        if prefetched is not None:
            return prefetched[: self.LATEST_PAYMENTS]
        if "payments" in getattr(self, "_prefetched_objects_cache", {}):
            newest_first = sorted(self.payments.all(), key=lambda p: (p.at, p.pk), reverse=True)
            return newest_first[: self.LATEST_PAYMENTS]
        return list(self.payments.order_by("-at", "-pk")[: self.LATEST_PAYMENTS])


class Payment(models.Model):
    class Status(models.TextChoices):
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="payments"
    )
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    status = models.CharField(max_length=20, choices=Status.choices)
    due_at = models.DateTimeField(help_text="The billing date this payment settles.")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="payment_amount_not_negative"),
            models.UniqueConstraint(
                fields=["subscription", "due_at"],
                condition=Q(status="succeeded"),
                name="one_successful_payment_per_due_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_status_display()} payment of {self.amount} {self.currency}"
