"""The OpenAPI 3.1 document served at ``/api/v1/openapi.json``, written from the route table: each
route's methods and path parameters (Flask's URL map), its scope family (``ScopedRoutes``) and its
declaration (``@operation``: payload models, answer, statuses, links). Nothing here is written by
hand per route, so the document cannot drift from what the routes take and answer."""
from __future__ import annotations

import copy
import re
from typing import Any

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from portal.api.errors import CODES
from portal.api.operations import OPERATION_ATTRIBUTE, Operation
from portal.api.scopes import FAMILY_ATTRIBUTE, scope_needed
from portal.payloads import JSON_VALUE_MARK, JSON_VALUE_SCHEMA
from portal.types import MAX_ID

ERROR_SCHEMA = {
    "type": "object", "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"},
        "fields": {"type": "object", "description": "Each bad field (e.g. subjects[0].date_of_birth) with "
                                                    "its problems.",
                   "additionalProperties": {"type": "array", "items": {"type": "string"}}}}}},
}
DESCRIPTIONS = {200: "OK", 201: "Created", 400: "Invalid input: fields names each bad field",
                401: "No or bad token", 403: "The token's user or scopes may not do this",
                404: "Absent, or not visible to the token's user", 409: "Conflict with the current state",
                413: "The body is too large", 415: "Wrong content type"}
PATH_PARAMETER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


class MissingDeclaration(RuntimeError):
    """An API route without ``@operation``: the document would not describe it."""


def api_operations(app: Flask) -> list[tuple[str, str, str, Any, Operation]]:
    """(OpenAPI path, method, endpoint, view, declaration) of every API route."""
    out = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.endpoint.startswith("api."):
            continue
        view = app.view_functions[rule.endpoint]
        declared = getattr(view, OPERATION_ATTRIBUTE, None)
        if declared is None:
            raise MissingDeclaration(f"API route {rule.rule} ({rule.endpoint}) has no @operation declaration")
        path = PATH_PARAMETER.sub(lambda m: "{" + m.group(2) + "}", rule.rule.removeprefix("/api/v1"))
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((path, method.lower(), rule.endpoint, view, declared))
    return out


def _path_parameters(app: Flask, endpoint: str) -> list[dict[str, Any]]:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    out = []
    for converter, name in PATH_PARAMETER.findall(rule.rule):
        schema: dict[str, Any] = ({"type": "integer", "minimum": 0, "maximum": MAX_ID} if converter == "int"
                                  else {"type": "string", "minLength": 1, "maxLength": 200, "pattern": r"^[^\x00-\x1f\x7f/]+$"})
        out.append({"name": name, "in": "path", "required": True, "schema": schema})
    return out


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is absent or text: ``null`` is no value it can have."""
    schema = dict(schema)
    if "anyOf" in schema:
        options = [s for s in schema.pop("anyOf") if s.get("type") != "null"]
        schema.update(options[0] if len(options) == 1 else {"anyOf": options})
    if "enum" in schema:
        schema["enum"] = [v for v in schema["enum"] if v is not None]
    schema.pop("default", None) if schema.get("default") is None else None
    return schema


def _query_parameters(model: type[BaseModel], components: dict[str, Any]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    required = set(schema.get("required", []))
    out = []
    for name, prop in schema.get("properties", {}).items():
        prop = _without_null(prop)
        description = prop.pop("description", None)
        prop.pop("title", None)
        if prop.get("type") == "string" or "enum" in prop:
            prop = {"anyOf": [prop, {"type": "string", "maxLength": 0}]}  # an empty value is no value
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if description:
            parameter["description"] = description
        out.append(parameter)
    return out


def _refer_to_json_value(node: Any) -> Any:
    if isinstance(node, dict):
        if node.get(JSON_VALUE_MARK):
            return {"$ref": "#/components/schemas/JsonValue"}
        return {key: _refer_to_json_value(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_refer_to_json_value(value) for value in node]
    return node


def _schema_of(answer: Any) -> dict[str, Any]:
    if answer is None:
        return {"type": "object"}
    if isinstance(answer, dict):
        return answer
    return {"$ref": f"#/components/schemas/{answer.__name__}"}


def openapi_document(app: Flask, base_url: str) -> dict[str, Any]:
    operations = api_operations(app)
    models: list[tuple[type[BaseModel], str]] = []
    for _path, _method, _endpoint, _view, op in operations:
        if op.body is not None and (op.body, "validation") not in models:
            models.append((op.body, "validation"))
        if isinstance(op.answer, type) and (op.answer, "serialization") not in models:
            models.append((op.answer, "serialization"))
    refs, defs = models_json_schema(models, ref_template="#/components/schemas/{model}")
    components: dict[str, Any] = {"Error": ERROR_SCHEMA, "JsonValue": JSON_VALUE_SCHEMA,
                                  **_refer_to_json_value(defs.get("$defs", {}))}
    # Each model's reference: pydantic names the components after the models.
    names = {model: refs[(model, mode)] for model, mode in models}
    paths: dict[str, dict[str, Any]] = {}
    for path, method, endpoint, view, op in operations:
        family = getattr(view, FAMILY_ATTRIBUTE, None)
        name = endpoint.removeprefix("api.")
        parameters = _path_parameters(app, endpoint) + list(op.headers)
        if op.query is not None:
            parameters += _query_parameters(op.query, components)
        errors = {401, *op.errors}
        if family is not None:
            errors.add(403)
        if "{" in path:
            errors.add(404)
        if op.query is not None or op.body is not None:
            errors.add(400)
        if op.body is not None:
            errors |= {413, 415}
        answer_schema = (names[op.answer] if isinstance(op.answer, type) else None)
        answer_schema = ({"$ref": f"#/components/schemas/{answer_schema['$ref'].rsplit('/', 1)[-1]}"}
                         if answer_schema else _schema_of(op.answer))
        success: dict[str, Any] = {"description": DESCRIPTIONS.get(op.status, "OK"),
                                   "content": {op.media: {"schema": answer_schema}}}
        if op.links:
            success["links"] = {target: {"operationId": target, "parameters": parameters_}
                                for target, parameters_ in op.links.items()}
        responses: dict[str, Any] = {str(op.status): success}
        for status in sorted(errors):
            responses[str(status)] = {"description": DESCRIPTIONS.get(status, CODES.get(status, "Error")),
                                      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        entry: dict[str, Any] = {"operationId": name, "summary": op.summary, "responses": responses}
        if op.description:
            entry["description"] = op.description
        if parameters:
            entry["parameters"] = copy.deepcopy(parameters)
        if family is not None:
            scope = scope_needed(family, method)
            entry["security"] = [{"bearer": [scope]}]
            entry["x-scope"] = scope
        if op.body is not None:
            body_schema = {"$ref": names[op.body]["$ref"]}
            entry["requestBody"] = {"required": True, "content": {op.body_media: {"schema": body_schema}}}
        paths.setdefault(path, {})[method] = entry
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Partner Sharing Portal API",
            "version": "1.0.0",
            "description": "Threat bulletins, suspicious-activity reports and deportee notifications. "
                           "Every answer is filtered by the portal's access policy: what the token's user "
                           "may not read is answered 404 and left out of lists. A method a path does not "
                           "offer is answered 405 with an Allow header. Each operation's security names "
                           "the token scope it needs (a token without scopes acts with its user's rights).",
        },
        "servers": [{"url": base_url + "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                       "schemas": components},
    }
