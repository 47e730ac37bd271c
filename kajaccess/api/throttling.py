"""Each key's rate, counted on the cache shared by every web process."""

from django.core.cache import caches
from rest_framework.throttling import SimpleRateThrottle


class ApiKeyRateThrottle(SimpleRateThrottle):
    scope = "api_key"
    cache = caches["api"]

    def get_cache_key(self, request, view):
        key = request.auth
        if key is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": key.prefix}
