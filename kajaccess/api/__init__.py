"""The public API under /api/v1/ (Django REST framework): application layer.

Every endpoint authenticates an API key of one site, checks the key's scopes, and reads
and writes through the same selectors and services as the dashboard.
"""
