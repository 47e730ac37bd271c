"""Payment gateways: where a billing run takes the money.

A gateway is a class with one method, `charge(subscription, amount) -> ChargeResult`.
The one in use is named by the `PAYMENT_GATEWAY` setting (a dotted path). The default,
`TestGateway`, takes no real money: it succeeds unless the contact's test card is set
to decline.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.utils.module_loading import import_string

DEFAULT_GATEWAY = "purchases.billing.gateways.TestGateway"


@dataclass(frozen=True)
class ChargeResult:
    succeeded: bool
    message: str = ""
    reference: str = ""


class GatewayError(Exception):
    """The gateway could not be reached or answered nonsense; the charge counts as failed."""


class PaymentGateway(ABC):
    @abstractmethod
    def charge(self, subscription, amount: Decimal) -> ChargeResult:
        """Take `amount` for one billing date of `subscription`; never raise for a decline.

        Called while the subscription row is locked, once per billing date: the billing
        run's key for the charge is the subscription and its `next_billing_at`.
        """


class TestGateway(PaymentGateway):
    """Records a succeeded payment, or a failed one for a contact whose test card declines."""

    __test__ = False  # a gateway, not a test class

    def charge(self, subscription, amount: Decimal) -> ChargeResult:
        contact = subscription.grant.contact
        if contact.test_card_declines:
            return ChargeResult(False, "The card was declined (test card set to decline).")
        due = subscription.next_billing_at
        return ChargeResult(True, reference=f"test-{subscription.pk}-{due:%Y%m%d}")


def get_gateway() -> PaymentGateway:
    return import_string(getattr(settings, "PAYMENT_GATEWAY", DEFAULT_GATEWAY))()
