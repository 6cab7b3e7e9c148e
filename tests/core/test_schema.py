"""The OpenAPI schema describes every endpoint fully, and is served in both formats."""

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from drf_spectacular.generators import SchemaGenerator

    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def test_schema_generates_without_warnings(tmp_path):
    # --fail-on-warn turns any unresolvable serializer, enum clash or missing type into an error.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


def test_every_operation_has_an_id_a_success_response_and_error_responses(schema):
    ids = []
    for path, method, operation in operations(schema):
        assert operation.get("operationId"), f"{method.upper()} {path} has no operation id"
        ids.append(operation["operationId"])
        statuses = set(operation["responses"])
        assert statuses & {"200", "201", "202", "204"}, f"{method.upper()} {path} has no success response"
        assert {"401", "403", "404", "429"} <= statuses, f"{method.upper()} {path} lacks error responses"
        if method in {"post", "put", "patch"}:
            assert "requestBody" in operation, f"{method.upper()} {path} has no request schema"
            assert "400" in statuses
    assert len(ids) == len(set(ids)), "operation ids must be unique"
    assert len(ids) > 20


def test_error_responses_use_the_shared_envelope(schema):
    envelope = schema["components"]["schemas"]["ErrorEnvelope"]
    assert envelope["properties"]["error"]["required"] == ["code", "message", "details", "trace_id"]
    for path, method, operation in operations(schema):
        ref = operation["responses"]["404"]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith("/ErrorEnvelope"), f"{method.upper()} {path}"


def test_schema_is_served_as_yaml_and_json_and_docs_page_renders(client):
    assert client.get("/api/schema/").status_code == 200
    as_json = client.get("/api/schema/?format=json")
    assert as_json.status_code == 200
    assert as_json.json()["openapi"].startswith("3.")
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()
    assert b"cdn" not in docs.content.lower(), "Swagger UI comes from our static files"
