"""The OpenAPI contract is one a standard generator takes as it is: JSON bodies, stable ASCII names."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db

OPERATION_ID = re.compile(r"^[a-z][a-z0-9_]*$")
COMPONENT = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


@pytest.fixture
def schema(client):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_request_bodies_are_json_only(schema):
    bodies = [(path, method, op["requestBody"]) for path, method, op in _operations(schema) if "requestBody" in op]
    assert bodies, "the staff and channel actions take bodies"
    for path, method, body in bodies:
        if path == "/api/v1/cases/{number}/evidence/":
            # Files: the one multipart body (photos and videos of the customer).
            assert set(body["content"]) == {"multipart/form-data"}, (method, path)
            continue
        if path == "/api/v1/tracking/{name}/":
            # The tracking provider's push: its own protocol posts a form (param and sign), not our JSON.
            assert set(body["content"]) == {"application/x-www-form-urlencoded"}, (method, path)
            continue
        assert set(body["content"]) == {"application/json"}, (method, path)


def test_operation_ids_are_unique_stable_ascii_names(schema):
    ids = [op["operationId"] for _path, _method, op in _operations(schema)]
    assert len(ids) == len(set(ids))
    assert all(OPERATION_ID.match(i) for i in ids), [i for i in ids if not OPERATION_ID.match(i)]
    # Named in the code, not derived from paths: renaming a URL does not rename a client's method.
    assert {"cases_open", "cases_progress", "staff_cases_list", "staff_cases_approve_offer"} <= set(ids)
    assert "staff_compensations_mark_paid" in ids


def test_component_names_are_ascii(schema):
    names = list(schema["components"]["schemas"])
    assert all(COMPONENT.match(name) for name in names), [n for n in names if not COMPONENT.match(n)]


def test_a_form_encoded_body_is_refused_in_json(login, open_case, agent):
    case = open_case()
    response = login(agent).post(f"/api/v1/staff/cases/{case.pk}/reject/", {"reason": "x"})
    assert response.status_code == 415
    assert response["Content-Type"].startswith("application/json") and "detail" in response.json()
