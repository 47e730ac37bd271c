"""A contact's access: a Grant per Offer and a ProductAccess per Product of it."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from contacts.models import Contact
from kajaccess.models import ApiKey, Site
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
    # The API key the revoke was made with, if it was: the Purchases tab names it.
    revoked_by_key = models.ForeignKey(
        ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
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
    # The API key the revoke was made with, if it was: the Purchases tab names it.
    revoked_by_key = models.ForeignKey(
        ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoke_reason = models.CharField(max_length=500, blank=True)
    removed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the Product was taken out of the Offer; such access no longer counts.",
    )

    class Meta:
        verbose_name = "product access"
        verbose_name_plural = "product accesses"
        ordering = ["grant", "product__title"]
        constraints = [
            models.UniqueConstraint(fields=["grant", "product"], name="unique_grant_product"),
            *revoked_fields_match_status("product_access"),
        ]
        indexes = [models.Index(fields=["product", "status"], name="access_product_status")]

    def __str__(self) -> str:
        return f"{self.product} via {self.grant}"
