"""Signals for the apps above `products`: the access facts in `purchases` listen to them."""

from django.dispatch import Signal

# contact_id: a contact's Product Progress changed. Sent inside the change's transaction,
# so that the facts kept from it commit or roll back with it.
progress_changed = Signal()
