"""Eight webhook sweeps at the same moment send each event once. PostgreSQL only."""

import pytest

from kajaccess.actors import Actor
from purchases.access import services as access
from purchases.models import WebhookDelivery
from purchases.webhooks import services
from purchases.webhooks.events import EVENT_TYPES
from purchases.webhooks.tasks import send_webhooks_task
from tests.factories import ContactFactory
from tests.purchases.test_concurrency import at_once, shop  # noqa: F401
from tests.purchases.test_webhooks import receiver  # noqa: F401

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_eight_sweeps_at_once_post_each_event_exactly_once(shop, receiver):  # noqa: F811
    owner, offer, _, _ = shop
    actor = Actor.creator(owner.user)
    services.webhook_endpoint_create(
        site=owner.site, url=receiver.url, event_types=EVENT_TYPES, actor=actor
    )
    contacts = ContactFactory.create_batch(30, site=owner.site)
    access.grant_offer_to_contacts(offer=offer, contact_ids=[c.pk for c in contacts], actor=actor)

    at_once(lambda: send_webhooks_task.call())

    ids = [body["id"] for body in receiver.bodies]
    assert len(ids) == len(set(ids)) == 30
    assert WebhookDelivery.objects.filter(status=WebhookDelivery.Status.DELIVERED).count() == 30
