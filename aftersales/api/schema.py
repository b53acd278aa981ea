"""drf-spectacular extensions: how the API's authentication appears in the OpenAPI contract."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "aftersales.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "A channel system's key: `Authorization: Api-Key ask_<prefix>_<secret>`.",
        }


class StaffSessionScheme(OpenApiAuthenticationExtension):
    target_class = "aftersales.api.authentication.StaffSessionAuthentication"
    name = "StaffSession"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid", "description": "A signed-in staff user's session."}
