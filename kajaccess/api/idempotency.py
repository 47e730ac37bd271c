"""`Idempotency-Key` on every POST: the same key and body answer the first response again.

The first response is kept a day on the API's shared cache, by API key and
Idempotency-Key, with a fingerprint of the request; the same Idempotency-Key with another
request is refused with a 422. The services are idempotent already (a second revoke
changes nothing), so this is what lets a client that lost a response retry a create.
"""

import hashlib
import json
from datetime import timedelta

from django.core.cache import caches
from rest_framework.response import Response

from kajaccess.api.problems import Unprocessable

HEADER = "Idempotency-Key"
KEPT_FOR = timedelta(days=1)
MAX_LENGTH = 255
cache = caches["api"]


class Replay(Exception):
    """The request was answered before: this is that answer."""

    def __init__(self, response: Response):
        self.response = response


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _slot(request, value: str) -> str:
    digest = hashlib.sha256(value.encode()).hexdigest()
    return f"idempotency:{request.auth.prefix}:{digest}"


def replay_or_reserve(request) -> str | None:
    """Raise Replay for a request seen before; else the cache slot to keep its answer in."""
    value = request.headers.get(HEADER)
    if request.method != "POST" or value is None:
        return None
    value = value.strip()
    if not value or len(value) > MAX_LENGTH:
        raise Unprocessable(f"An {HEADER} is 1 to {MAX_LENGTH} characters.")
    slot = _slot(request, value)
    kept = cache.get(slot)
    if kept is None:
        return slot
    if kept["fingerprint"] != _fingerprint(request):
        raise Unprocessable(
            f"This {HEADER} was first sent with another request: use a new key for a new request."
        )
    response = Response(kept["data"], status=kept["status"], content_type=kept["content_type"])
    response["Idempotent-Replayed"] = "true"
    raise Replay(response)


def keep(request, slot: str, response) -> None:
    """Keep a 2xx answer; a refusal changed nothing, so sending the request again may succeed."""
    if not 200 <= response.status_code < 300:
        return
    cache.set(
        slot,
        {
            "fingerprint": _fingerprint(request),
            "status": response.status_code,
            "data": response.data,
            "content_type": response.content_type,
        },
        KEPT_FOR.total_seconds(),
    )
