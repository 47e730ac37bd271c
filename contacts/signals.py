"""Signals for the apps above `contacts`; automations in `purchases` listen to them."""

from django.dispatch import Signal

# site, tag, contact_ids (those that did not have the tag before), actor, bulk_action
tag_added = Signal()
# site_id, contact, actor, kind ("added" or "edited"), changes ({field: [old, new]}).
# Sent inside the change's transaction, so that its audit row commits or rolls back with it.
contact_changed = Signal()
