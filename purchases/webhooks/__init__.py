"""Webhooks: a site's events POSTed, signed, to the endpoints it set in Settings > Webhooks."""
