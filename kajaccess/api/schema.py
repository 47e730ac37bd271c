"""The OpenAPI document: every operation also lists the problems it can answer."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter

from kajaccess.api.problems import MEDIA_TYPE
from kajaccess.api.serializers import ProblemSerializer

# Every operation may answer these: bad input, no key, a missing scope, an id not of the
# key's site, too many requests.
ERRORS = ("400", "401", "403", "404", "429")
IDEMPOTENT_ERRORS = ("422",)


class ProblemsSchema(AutoSchema):
    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self.method == "POST":
            parameters.append(
                OpenApiParameter(
                    "Idempotency-Key",
                    str,
                    OpenApiParameter.HEADER,
                    description="Send the same key with the same body to get the first "
                    "response again rather than a second change; another body gets a 422.",
                )
            )
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        codes = ERRORS + (IDEMPOTENT_ERRORS if self.method == "POST" else ())
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    ProblemSerializer, code, media_types=[MEDIA_TYPE]
                )
            else:
                content = responses[code].get("content", {})
                if "application/json" in content and code >= "400":
                    content[MEDIA_TYPE] = content.pop("application/json")
        for code, response in responses.items():
            content = response.get("content", {})
            if code >= "400" and "application/json" in content:
                content[MEDIA_TYPE] = content.pop("application/json")
        return responses


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "kajaccess.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`, with a key made in Settings > API keys.",
        }


def _follow(operation_id: str, **parameters: str) -> dict:
    return {"operationId": operation_id, "parameters": parameters}


_CONTACT = "$response.body#/id"
_GRANT = "$response.body#/grant/id"
_BULK = "$response.body#/bulk_action/id"
_CONTACT_LINKS = {
    "GetContact": _follow("contacts_retrieve", contact_id=_CONTACT),
    "ChangeContact": _follow("contacts_partial_update", contact_id=_CONTACT),
    "GetContactAccess": _follow("contacts_access_retrieve", contact_id=_CONTACT),
    "GrantOffer": _follow("contacts_grants_create", contact_id=_CONTACT),
}
_GRANT_LINKS = {
    "GetGrant": _follow("grants_retrieve", grant_id=_GRANT),
    "RevokeGrant": _follow("grants_revoke_create", grant_id=_GRANT),
    "RestoreGrant": _follow("grants_restore_create", grant_id=_GRANT),
    "ChangeGrantDates": _follow("grants_partial_update", grant_id=_GRANT),
    "RevokeGrantProduct": _follow(
        "grants_products_revoke_create",
        grant_id=_GRANT,
        product_id="$response.body#/grant/products/0/product_id",
    ),
    "GetGrantContact": _follow("contacts_retrieve", contact_id="$response.body#/grant/contact_id"),
}
_BULK_LINKS = {
    "GetBulkAction": _follow("bulk_actions_retrieve", bulk_id=_BULK),
    "UndoBulkAction": _follow("bulk_actions_undo_create", bulk_id=_BULK),
}

# What a client does next with an answer, as OpenAPI links: (operation, status) -> links.
LINKS = {
    ("contacts_create", "201"): _CONTACT_LINKS,
    ("contacts_partial_update", "200"): _CONTACT_LINKS,
    ("contacts_grants_create", "201"): _GRANT_LINKS,
    ("contacts_grants_create", "200"): _GRANT_LINKS,
    ("grants_revoke_create", "200"): _GRANT_LINKS,
    ("grants_restore_create", "200"): _GRANT_LINKS,
    ("grants_partial_update", "200"): _GRANT_LINKS,
    ("bulk_actions_create", "202"): _BULK_LINKS,
    ("bulk_actions_undo_create", "202"): {
        "GetBulkAction": _BULK_LINKS["GetBulkAction"],
        "GetUndoneBulkAction": _follow(
            "bulk_actions_retrieve", bulk_id="$response.body#/bulk_action/undo_of"
        ),
    },
    ("bulk_actions_retrieve", "200"): {
        "UndoBulkAction": _follow("bulk_actions_undo_create", bulk_id="$response.body#/id"),
    },
}


def add_links(result, generator, request, public):
    """Postprocessing hook: the responses' `links` (drf-spectacular has no decorator for them).

    An operation or status named here but missing from the schema fails the schema's
    generation, so that a renamed operation cannot leave a link pointing nowhere."""
    operations = {
        operation["operationId"]: operation
        for methods in result["paths"].values()
        for operation in methods.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    for (operation_id, code), links in LINKS.items():
        targets = {link["operationId"] for link in links.values()}
        missing = sorted((targets | {operation_id}) - set(operations))
        if missing or code not in operations[operation_id]["responses"]:
            raise ValueError(f"OpenAPI links of {operation_id} {code}: no {missing or code}")
        operations[operation_id]["responses"][code]["links"] = links
    return result
