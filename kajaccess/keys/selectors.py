"""The read side of API keys."""

from django.db.models import QuerySet
from django.utils import timezone

from kajaccess.models import ApiKey, Site


def site_api_keys(site: Site) -> QuerySet:
    """A site's keys, newest first, with who made them."""
    return ApiKey.objects.filter(site=site).select_related("created_by").order_by("-created", "pk")


def usable_key(secret: str) -> ApiKey | None:
    """The key a request presents, if it is one, and neither revoked nor expired."""
    prefix, _, _ = secret.partition(".")
    key = (
        ApiKey.objects.select_related("site", "created_by")
        .filter(prefix=prefix, revoked=False)
        .first()
    )
    if key is None or not key.is_valid(secret):
        return None
    if key.expiry_date is not None and key.expiry_date <= timezone.now():
        return None
    return key
