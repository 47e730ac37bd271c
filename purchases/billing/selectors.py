"""The read side of billing: a contact's subscriptions and what still bills."""

from django.db.models import (
    Prefetch,
    QuerySet,
)

from contacts.models import Contact
from purchases.models import (
    Grant,
    Payment,
    Subscription,
)

LATEST_PAYMENTS = Subscription.LATEST_PAYMENTS


def billing_subscriptions(grant: Grant) -> list[Subscription]:
    """The subscription or payment plan of a grant that still takes money, if any."""
    subscription = getattr(grant, "subscription", None)
    return [subscription] if subscription is not None and subscription.is_billing else []


def contact_subscriptions(contact: Contact) -> QuerySet:
    """A contact's subscriptions and payment plans, newest first, with their latest payments."""
    return (
        Subscription.objects.filter(grant__contact=contact)
        .select_related("grant__offer")
        .prefetch_related(
            Prefetch(
                "payments",
                queryset=Payment.objects.order_by("-at", "-pk")[: Subscription.LATEST_PAYMENTS],
                to_attr="prefetched_latest_payments",
            )
        )
        .order_by("-grant__starts_at", "-pk")
    )
