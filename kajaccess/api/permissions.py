"""What a key may do: each view names the scope each of its methods needs."""

from rest_framework import exceptions, permissions

from kajaccess.models import ApiKey


class HasScope(permissions.BasePermission):
    """A key of a site, holding the scope the view's `scopes` names for the method.

    Reading needs `read`; a view without an entry for a method refuses it.
    """

    def has_permission(self, request, view) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            raise exceptions.NotAuthenticated(
                "Send an API key as `Authorization: Api-Key <key>`; make one in "
                "Settings > API keys."
            )
        scope = view.scopes.get(request.method, ApiKey.Scope.READ)
        if not key.has_scope(scope):
            raise exceptions.PermissionDenied(
                f"This key lacks the “{scope}” scope, which this request needs. Its scopes: "
                f"{', '.join(key.scopes)}. Make a key with it in Settings > API keys."
            )
        return True
