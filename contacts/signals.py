"""Signals for the apps above `contacts`; automations in `purchases` listen to them."""

from django.dispatch import Signal

# site, tag, contact_ids (those that did not have the tag before), actor, bulk_action
tag_added = Signal()
