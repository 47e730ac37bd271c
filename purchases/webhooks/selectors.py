"""The read side of webhooks: a site's endpoints and an endpoint's delivery log."""

from django.db.models import QuerySet

from kajaccess.models import Site
from purchases.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

LOG_LENGTH = 100


def site_webhook_endpoints(site: Site) -> QuerySet:
    return WebhookEndpoint.objects.filter(site=site).select_related("created_by")


def switched_off_endpoints(site: Site) -> QuerySet:
    """The endpoints given up on after a day of failures, which their owner must be told of."""
    return WebhookEndpoint.objects.filter(site=site, disabled_at__isnull=False)


def delivery_log(endpoint: WebhookEndpoint) -> list[WebhookAttempt]:
    """The latest attempts to deliver to `endpoint`, newest first, each with its delivery."""
    return list(
        WebhookAttempt.objects.filter(delivery__endpoint=endpoint)
        .select_related("delivery")
        .order_by("-at", "-pk")[:LOG_LENGTH]
    )


def waiting_deliveries(endpoint: WebhookEndpoint) -> int:
    return WebhookDelivery.objects.filter(
        endpoint=endpoint, status=WebhookDelivery.Status.PENDING
    ).count()
