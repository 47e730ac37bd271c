"""Signals for the apps above `contacts`; automations in `purchases` listen to them."""

from django.dispatch import Signal

# site, tag, contact_ids (those that did not have the tag before), actor, bulk_action
tag_added = Signal()
# site_id, actor, kind ("added" or "edited"), changes ({contact id: {field: [old, new]}}
# when edited, {contact id: {field: value}} when added), bulk_action (or None).
# Sent inside the change's transaction, so that its audit rows commit or roll back with it.
contacts_changed = Signal()
