"""Signals that automations listen to. Sent after the transaction that caused them commits."""

from django.dispatch import Signal

# offer, grant_ids, actor
offer_granted = Signal()
# subscription, actor
subscription_canceled = Signal()
# subscription, payment
payment_failed = Signal()
