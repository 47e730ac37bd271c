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
