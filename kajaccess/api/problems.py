"""Every error the API answers is `application/problem+json` (RFC 9457).

DRF's own exception handler answers a dict of its own shape; this one turns every
refusal into a problem with a type, a title, a status, a detail and, for validation,
the fields, and turns the services' ValidationError into a 400 rather than a 500.
"""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from contacts.services import EmailTaken

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:kajaccess:problem:"

# status -> (type, title)
TITLES = {
    400: ("validation", "The request is not valid"),
    401: ("unauthenticated", "An API key is needed"),
    403: ("forbidden", "This key may not do that"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    413: ("too-large", "The request is too large"),
    415: ("unsupported-media-type", "Send JSON"),
    422: ("idempotency-key-reused", "This Idempotency-Key was used with another request"),
    429: ("rate-limited", "Too many requests"),
}


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."


class Unprocessable(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "The request cannot be processed."


def problem(status_code: int, detail: str, *, fields: dict | None = None, headers=None):
    kind, title = TITLES.get(status_code, ("error", "Error"))
    body = {"type": TYPE_PREFIX + kind, "title": title, "status": status_code, "detail": detail}
    if fields:
        body["fields"] = fields
    return Response(body, status=status_code, headers=headers, content_type=MEDIA_TYPE)


def _flat(detail) -> str:
    if isinstance(detail, list):
        return " ".join(_flat(item) for item in detail)
    if isinstance(detail, dict):
        return " ".join(_flat(item) for item in detail.values())
    return str(detail)


def _fields(detail) -> dict[str, list[str]]:
    """DRF's nested errors as {"field": ["message", ...]}, with "body" for the whole."""
    if isinstance(detail, dict):
        return {name: [_flat(value)] for name, value in detail.items()}
    return {"body": [_flat(detail)]}


def _from_django(error: DjangoValidationError) -> exceptions.ValidationError:
    if hasattr(error, "error_dict"):
        return exceptions.ValidationError(
            {
                ("body" if name == "__all__" else name): messages
                for name, messages in error.message_dict.items()
            }
        )
    return exceptions.ValidationError(error.messages)


def exception_handler(exc, context):
    if isinstance(exc, EmailTaken):
        exc = Conflict(" ".join(exc.messages))
    elif isinstance(exc, DjangoValidationError):
        exc = _from_django(exc)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound("Nothing with this id is here for this key.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    if not isinstance(exc, exceptions.APIException):
        return None
    set_rollback()
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        fields = _fields(detail)
        summary = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in fields.items())
        return problem(400, summary, fields=fields, headers=headers)
    return problem(exc.status_code, _flat(exc.detail), headers=headers)


def outside_a_view(status_code: int, detail: str) -> JsonResponse:
    """A problem for what no API view answered: an unknown address, a crash."""
    kind, title = TITLES.get(status_code, ("server-error", "Something went wrong on our side"))
    body = {"type": TYPE_PREFIX + kind, "title": title, "status": status_code, "detail": detail}
    return JsonResponse(body, status=status_code, content_type=MEDIA_TYPE)


def is_api(request) -> bool:
    return request.path.startswith("/api/")
