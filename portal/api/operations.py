"""An API route's declaration: what it takes (query, body) and what it answers.

``@operation(...)`` sits under the route decorator; it checks the query string and the JSON body
with the declared payload models (``portal/payloads.py``) before the view runs, and hands the view
the checked values as ``query=`` and ``body=``. ``portal/api/openapi.py`` reads the same
declarations, with the route table and the scope families, to write the OpenAPI document.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable

from flask import request
from pydantic import BaseModel, Field

from portal import payloads
from portal.api.errors import ApiError
from portal.api.formats import json_body
from portal.problems import Invalid

#: Attribute set on a view function by :func:`operation`.
OPERATION_ATTRIBUTE = "api_operation"


@dataclass(frozen=True)
class Operation:
    """What one API operation takes and answers. ``answer``: a pydantic model, a JSON Schema, or
    None for "an object"; ``media``: the success answer's media type."""

    summary: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    answer: Any = None
    status: int = 200
    errors: tuple[int, ...] = ()
    media: str = "application/json"
    body_media: str = "application/json"
    body_limit: Callable[[], int] | None = None
    invalid_message: str = "Invalid input; nothing was stored."
    headers: tuple[dict[str, Any], ...] = ()
    links: dict[str, dict[str, Any]] = field(default_factory=dict)
    description: str = ""
    #: False: the view reads the body itself, in a format its parser checks (a MISP event); the
    #: model then only documents it.
    checks_body: bool = True


def operation(summary: str, **declared: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare an API operation (see :class:`Operation`) and check its input before the view."""
    op = Operation(summary=summary, **declared)

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def checked(**kwargs: Any) -> Any:
            if op.query is not None:
                try:
                    kwargs["query"] = payloads.from_query(op.query, request.args)
                except Invalid as invalid:
                    raise ApiError(400, "Some query parameters are invalid.", invalid.fields) from None
            if op.body is not None and op.body_media == "application/json" and op.checks_body:
                data = json_body(limit=op.body_limit() if op.body_limit else None)
                try:
                    kwargs["body"] = payloads.from_data(op.body, data)
                except Invalid as invalid:
                    raise ApiError(400, op.invalid_message, invalid.fields) from None
            return view(**kwargs)

        setattr(checked, OPERATION_ATTRIBUTE, op)
        return checked

    return decorate


def given(body: BaseModel) -> dict[str, Any]:
    """What the caller sent, checked, as the plain dict the services take (absent fields left out)."""
    return body.model_dump(mode="json", by_alias=True, exclude_unset=True)


class FileUpload(BaseModel):
    """A ``multipart/form-data`` body with one file in a part named ``file``."""

    file: bytes = Field(json_schema_extra={"format": "binary"})
