"""OpenAPI additions: the shared error envelope on every operation."""

from drf_spectacular.utils import OpenApiResponse

ERROR_ENVELOPE = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details", "trace_id"],
            "properties": {
                "code": {"type": "string", "example": "validation_error"},
                "message": {"type": "string"},
                "details": {
                    "type": "object",
                    "description": "Input field → its messages; on a 409, `current` holds the stored object.",
                    "additionalProperties": {},
                },
                "trace_id": {"type": "string"},
            },
        }
    },
}

_ERRORS = {
    "400": "Invalid input; details name the fields.",
    "401": "Missing or invalid credentials.",
    "403": "Authenticated, but the role does not allow this.",
    "404": "Not found, or not in a workspace you belong to.",
    "413": "Request body too large.",
    "415": "Unsupported content type.",
    "429": "Rate limited; see Retry-After.",
}


def add_error_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["ErrorEnvelope"] = ERROR_ENVELOPE
    ref = {"$ref": "#/components/schemas/ErrorEnvelope"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            responses = operation.setdefault("responses", {})
            for status, description in _ERRORS.items():
                if status in ("400", "413", "415") and method in ("get", "delete"):
                    continue
                responses.setdefault(
                    status, {"description": description, "content": {"application/json": {"schema": ref}}}
                )
            # Operations that can conflict declare a 409 (CONFLICT_RESPONSE); its body is the envelope too.
            if "409" in responses:
                responses["409"]["content"] = {"application/json": {"schema": ref}}
    return result


CONFLICT_RESPONSE = OpenApiResponse(
    description="Stale version: the object changed since it was read; details.current holds it."
)
