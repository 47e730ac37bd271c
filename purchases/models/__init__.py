"""The purchases app's models, one module per concern; imported here for the app registry."""

from purchases.models.access import (
    AccessStatus,
    Grant,
    ProductAccess,
    RevokedVia,
    revoked_fields_match_status,
)
from purchases.models.audit import AccessEvent
from purchases.models.automation import Automation
from purchases.models.billing import Payment, Purchase, Subscription
from purchases.models.bulk import BulkAction, BulkActionContact
from purchases.models.facts import (
    ContactStateCount,
    OfferCount,
    OfferHolder,
    ProductCount,
    ProductHolder,
    ProductWeek,
    WeekHolder,
)
from purchases.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "AccessEvent",
    "AccessStatus",
    "Automation",
    "BulkAction",
    "BulkActionContact",
    "ContactStateCount",
    "Grant",
    "OfferCount",
    "OfferHolder",
    "Payment",
    "ProductAccess",
    "ProductCount",
    "ProductHolder",
    "ProductWeek",
    "Purchase",
    "RevokedVia",
    "Subscription",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WeekHolder",
    "revoked_fields_match_status",
]
