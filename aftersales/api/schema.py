"""drf-spectacular extensions: how the API's authentication appears in the OpenAPI contract; OPTIONS metadata."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.metadata import SimpleMetadata


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
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "A signed-in staff user's session.",
        }


class BriefMetadata(SimpleMetadata):
    """OPTIONS answers with the endpoint's name, description and formats; the fields live in the OpenAPI schema.

    (DRF's default would build a form for each write method by loading the object, which channel endpoints
    address by case number rather than a queryset.)"""

    def determine_actions(self, request, view):
        return {}
