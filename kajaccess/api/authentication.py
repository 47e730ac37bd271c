"""`Authorization: Api-Key <key>`: the key of one site, hashed at rest."""

from django.contrib.auth.models import AnonymousUser
from rest_framework import authentication, exceptions
from rest_framework_api_key.permissions import KeyParser

from kajaccess.keys.selectors import usable_key
from kajaccess.keys.services import api_key_used

KEYWORD = KeyParser.keyword


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`request.auth` is the ApiKey; `request.user` the member who made it, if still there."""

    parser = KeyParser()

    def authenticate(self, request):
        secret = self.parser.get_from_authorization(request._request)
        if secret is None:
            return None
        key = usable_key(secret.strip())
        if key is None:
            raise exceptions.AuthenticationFailed(
                "This API key is not valid: it was revoked, it expired, or it was never made."
            )
        api_key_used(key=key)
        return (key.created_by or AnonymousUser(), key)

    def authenticate_header(self, request) -> str:
        return KEYWORD
