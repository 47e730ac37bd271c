from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from contacts.models import Contact, Tag
from kajaccess.actors import ActorKind
from kajaccess.models import Site
from products.models import Offer, Product


class AccessStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    REVOKED = "revoked", "Revoked"


class RevokedVia(models.TextChoices):
    CREATOR = "creator", "Creator"
    SUPPORT = "support", "Support"
    AUTOMATION = "automation", "Automation"
    EXPIRY = "expiry", "Expiry"
    CANCELLATION = "cancellation", "Cancellation"


def revoked_fields_match_status(prefix: str) -> list[models.CheckConstraint]:
    """revoked_at and revoked_via are set exactly when the row is revoked."""
    return [
        models.CheckConstraint(
            condition=(
                Q(status=AccessStatus.ACTIVE, revoked_at__isnull=True, revoked_via="")
                | (Q(status=AccessStatus.REVOKED, revoked_at__isnull=False) & ~Q(revoked_via=""))
            ),
            name=f"{prefix}_revoked_fields_match_status",
        ),
        models.CheckConstraint(
            condition=Q(revoked_via__in=["", *RevokedVia.values]),
            name=f"{prefix}_revoked_via_valid",
        ),
    ]


class Grant(models.Model):
    """A contact's access through one Offer. Never deleted: revoked and restored instead."""

    class Source(models.TextChoices):
        PURCHASE = "purchase", "Purchased"
        MANUAL = "manual", "Granted manually"
        AUTOMATION = "automation", "Granted by automation"
        IMPORT = "import", "Imported"

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="grants")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="grants")
    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="grants")
    source = models.CharField(max_length=20, choices=Source.choices)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="grants_given",
    )
    starts_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=AccessStatus.choices, default=AccessStatus.ACTIVE
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="grants_revoked",
    )
    revoked_via = models.CharField(max_length=20, choices=RevokedVia.choices, blank=True)
    revoke_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-starts_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "offer"],
                condition=Q(status=AccessStatus.ACTIVE),
                name="one_active_grant_per_contact_offer",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__isnull=True) | Q(expires_at__gt=F("starts_at")),
                name="grant_expires_after_start",
            ),
            *revoked_fields_match_status("grant"),
        ]
        indexes = [
            models.Index(fields=["site", "offer", "status"], name="grant_site_offer_status"),
            models.Index(fields=["contact", "offer", "status"], name="grant_contact_offer_status"),
            models.Index(
                fields=["expires_at"],
                condition=Q(status=AccessStatus.ACTIVE, expires_at__isnull=False),
                name="grant_active_expiry",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.offer} for {self.contact}"

    def is_current(self, now=None) -> bool:
        now = now or timezone.now()
        return (
            self.status == AccessStatus.ACTIVE
            and self.starts_at <= now
            and (self.expires_at is None or self.expires_at > now)
        )

    def has_expired(self, now=None) -> bool:
        now = now or timezone.now()
        return self.expires_at is not None and self.expires_at <= now


class ProductAccess(models.Model):
    """One Product of a Grant's Offer, so a single Product can be revoked and restored alone."""

    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="product_accesses")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="accesses")
    status = models.CharField(
        max_length=20, choices=AccessStatus.choices, default=AccessStatus.ACTIVE
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="product_accesses_revoked",
    )
    revoked_via = models.CharField(max_length=20, choices=RevokedVia.choices, blank=True)
    revoke_reason = models.CharField(max_length=500, blank=True)
    removed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the Product was taken out of the Offer; such access no longer counts.",
    )

    class Meta:
        ordering = ["grant", "product__title"]
        constraints = [
            models.UniqueConstraint(fields=["grant", "product"], name="unique_grant_product"),
            *revoked_fields_match_status("product_access"),
        ]
        indexes = [models.Index(fields=["product", "status"], name="access_product_status")]

    def __str__(self) -> str:
        return f"{self.product} via {self.grant}"


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
    reason = models.CharField(max_length=500, blank=True)
    bulk_action = models.ForeignKey(
        BulkAction, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    at = models.DateTimeField(default=timezone.now)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [
            # A site's trail by time, carrying what the Activity filters and the Product
            # Progress chart read, so both are answered from the index alone.
            models.Index(
                fields=["site", "-at", "kind", "actor_kind", "grant", "product"],
                name="event_site_at_covering",
            ),
            models.Index(fields=["contact", "-at"], name="event_contact_at"),
            models.Index(fields=["bulk_action", "grant"], name="event_bulk_grant"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.contact}"
