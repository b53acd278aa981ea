"""Property-based fuzzing of the API against its own OpenAPI contract (schemathesis, live test server).

Every operation gets generated requests — valid and invalid — with a channel key and a supervisor's
session; no response may be a server error, and every response must match the documented status codes,
content types and schemas.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.middleware.csrf import _get_new_csrf_string
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db(transaction=True)]

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def fuzz_headers(users, policy, order, case_in, settings):
    """A channel key (generous rate), a supervisor's session with its CSRF token, and a few real cases."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from aftersales.models import ApiKey

    key = ApiKey(name="fuzz", channel="app", user=users["channel"], rate="100000/min")
    raw = key.issue()
    key.save()
    case_in("awaiting_confirmation")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"staff": "100000/min"}}
    supervisor = users["supervisor"]
    session = SessionStore()
    session[SESSION_KEY] = str(supervisor.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = supervisor.get_session_auth_hash()
    session.save()
    token = _get_new_csrf_string()
    return {
        "Authorization": f"Api-Key {raw}",
        "Cookie": f"sessionid={session.session_key}; csrftoken={token}",
        "X-CSRFToken": token,
    }


def _contract() -> dict:
    """The OpenAPI document exactly as ``/api/v1/schema/`` serves it (generated in-process at collection)."""
    import json

    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(document, renderer_context={}))


schema = schemathesis.openapi.from_dict(_contract())


@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_api_keeps_its_contract(case, live_server, fuzz_headers):
    case.call_and_validate(base_url=live_server.url, headers=fuzz_headers, checks=CHECKS)
