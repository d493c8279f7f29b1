"""What a request may carry, declared once per payload as a pydantic model.

The same model checks a JSON body (strictly: JSON types as the OpenAPI document states them), an
HTML form (laxly: a form sends only text), and a query string; and it writes the OpenAPI document
(``portal/api/openapi.py``), so the document cannot drift from what is checked. Pydantic's errors
are turned into docs/contract.md's field errors here, once: ``("subjects", 0, "date_of_birth")`` becomes
``subjects[0].date_of_birth``, and each message is one of the portal's translated sentences.

What JSON Schema cannot say (a row exists, the writer's clearance, check digits, references between
a report's parts) stays in the feature's service, which raises :class:`portal.problems.Invalid`
with the same keys.
"""
from __future__ import annotations

import json
from typing import Annotated, Any, Callable, Iterable, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, WrapValidator
from pydantic_core import ErrorDetails, PydanticCustomError

from portal.i18n import gettext as _
from portal.problems import Invalid

P = TypeVar("P", bound="Payload")

#: Discriminator values of tagged unions (``subjects[0]`` of kind ``person``): pydantic puts the tag
#: in the error's location after the list index; the field key leaves it out.
UNION_TAGS: set[str] = set()
#: Names pydantic gives the members of a plain union (``str | int``) in an error's location.
UNION_MEMBERS = frozenset({"str", "int", "float", "bool", "none", "decimal", "date", "datetime"})


def _nullable(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "null" or any(_nullable(s) for s in schema.get("anyOf", []))


#: Any JSON value a body may carry where no field is declared (extra keys are ignored), within
#: what every body is held to (``portal/api/formats.py``): integers of at most 64 bits.
JSON_VALUE_SCHEMA = {"anyOf": [
    {"type": ["string", "boolean", "null"]},
    {"type": "number", "minimum": -(2**63 - 1), "maximum": 2**63 - 1},
    {"type": "array", "items": {"$ref": "#/components/schemas/JsonValue"}},
    {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/JsonValue"}},
]}


#: Put where :data:`JSON_VALUE_SCHEMA` belongs (pydantic resolves every ``$ref`` it meets).
JSON_VALUE_MARK = "x-json-value"


def _document(schema: dict[str, Any], _model: Any = None) -> None:
    """A field that may be left out but not sent as null (``title: str = None``) has no default in
    the document: null is not a value it takes. Keys no field declares are ignored, but their
    values are still JSON the portal can store (:data:`JSON_VALUE_SCHEMA`)."""
    for prop in schema.get("properties", {}).values():
        if "default" in prop and prop["default"] is None and not _nullable(prop):
            del prop["default"]
    schema["additionalProperties"] = {JSON_VALUE_MARK: True}  # the document refers to JsonValue there


class Payload(BaseModel):
    """Base of every declared payload: unknown keys are ignored (as they always were), values are
    not coerced across JSON types when the body is JSON."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, json_schema_extra=_document)


def text(limit: int, *, required: bool = False) -> Any:
    """A free-text field of at most ``limit`` characters (``required``: at least one non-space)."""
    if required:
        return Annotated[str, StringConstraints(min_length=1, max_length=limit, pattern=r"\S")]
    return Annotated[str, StringConstraints(max_length=limit)]


def worded(message: Callable[[], str]) -> WrapValidator:
    """A field's own sentence for whatever is wrong with its value (``message`` is called when the
    value is refused, so that it is translated into the reader's language then)."""
    def wrap(value: Any, handler: Any) -> Any:
        try:
            return handler(value)
        except ValidationError:
            raise refuse(message()) from None
    return WrapValidator(wrap)


def _member_label(part: str) -> bool:
    """Whether ``part`` is a name pydantic gives a member of a plain union in an error's location
    (``str``, ``constrained-str``, ``list[constrained-str]``, ``function-wrap[…]``)."""
    return "[" in part or part in UNION_MEMBERS or part.startswith("constrained-")


def _read(loc: Iterable[int | str]) -> tuple[str, str | None]:
    """The field key of an error's location, and the key of the plain union whose member the error
    is about (``None`` when it is about no union). The tag of a tagged union after a list index, and
    the member label of a plain union right after a field's name (so that a field named like a type,
    e.g. a transaction's ``date``, stays a field), are pydantic's, not the payload's: left out."""
    key, after_index, named, union = "", False, False, None
    for part in loc:
        if isinstance(part, int):
            key += f"[{part}]"
            after_index, named = True, False
            continue
        if after_index and part in UNION_TAGS:
            after_index = False
            continue
        if named and _member_label(part):
            union = key if union is None else union
            named = False
            continue
        key = f"{key}.{part}" if key else part
        after_index, named = False, True
    return key or "body", union


def field_key(loc: Iterable[int | str]) -> str:
    """``("subjects", 0, "date_of_birth")`` → ``subjects[0].date_of_birth`` (docs/contract.md)."""
    return _read(loc)[0]


def _choices(expected: str) -> str:
    return expected.replace("'", "")


def message(error: ErrorDetails) -> str:
    """One of the portal's sentences (translated) for a pydantic error."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind in ("missing", "string_too_short") and ctx.get("min_length", 1) <= 1:
        return _("This is required.")
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == r"\S":
        return _("This is required.")
    if kind == "string_too_long":
        return _("Give text of at most %(n)s characters.", n=ctx.get("max_length"))
    if kind in ("string_type", "string_unicode"):
        return _("Give text.")
    if kind == "string_pattern_mismatch":
        return _("This is not in the expected form.")
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return _("Give a whole number.")
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return _("The number is out of range.")
    if kind in ("bool_type", "bool_parsing"):
        return _("Give true or false.")
    if kind in ("literal_error", "enum"):
        return _("Choose one of: %(choices)s.", choices=_choices(ctx.get("expected", "")))
    if kind == "union_tag_invalid":
        return _("Choose one of: %(choices)s.", choices=_choices(ctx.get("expected_tags", "")))
    if kind == "union_tag_not_found":
        return _("Choose one of: %(choices)s.", choices=ctx.get("discriminator", "").strip("'"))
    if kind in ("list_type", "tuple_type", "set_type"):
        return _("Give a list.")
    if kind == "too_long":
        return _("Give at most %(n)s items.", n=ctx.get("max_length"))
    if kind == "too_short":
        return _("Give at least %(n)s items.", n=ctx.get("min_length"))
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return _("Give an object.")
    if kind.startswith("date") and not kind.startswith("datetime"):
        return _("%(value)s is not a date: write it as YYYY-MM-DD, e.g. 2026-10-01.",
                 value=str(error.get("input"))[:20])
    if kind.startswith("datetime") or kind.startswith("timezone"):
        return _("Give a date and time, e.g. 2026-12-20T06:30:00Z.")
    if kind in ("json_invalid", "json_type"):
        return _("Send a JSON object.")
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind.startswith("portal"):  # our own PydanticCustomError: already a translated sentence
        return error["msg"]
    return _("This value is not accepted.")


#: Errors that only say the value is not of a union member's type: when another member took the
#: value's type and found something else wrong with it, that is the problem to tell (``names`` takes a
#: list or one text: a text too long is "too long", not also "give a list").
TYPE_MISMATCHES = frozenset({"list_type", "string_type", "int_type", "int_parsing", "float_type", "float_parsing",
                             "bool_type", "dict_type", "model_type"})


def problems(error: ValidationError) -> dict[str, list[str]]:
    """Field errors in docs/contract.md's shape, every problem at once."""
    details = [(detail, *_read(detail["loc"])) for detail in error.errors()]
    informative = {union for detail, _key, union in details if union is not None
                   and detail["type"] not in TYPE_MISMATCHES}
    fields: dict[str, list[str]] = {}
    for detail, key, union in details:
        if detail["type"] in TYPE_MISMATCHES and union in informative:
            continue
        text_ = message(detail)
        if detail["type"] in ("union_tag_invalid", "union_tag_not_found"):  # the tag's own field is at fault
            key = f"{key}.{detail['ctx']['discriminator'].strip(chr(39))}"  # (pydantic always names it)
        if text_ not in fields.setdefault(key, []):
            fields[key].append(text_)
    return fields


def refuse(sentence: str) -> PydanticCustomError:
    """A field error from a validator, in the portal's words (already translated)."""
    # Without a context, pydantic-core formats nothing: the sentence is kept as written, braces too
    # (it has no way to escape a brace, so doubling them would show them doubled).
    return PydanticCustomError("portal", sentence)


def from_json(model: type[P], raw: bytes | str) -> P:
    """A JSON body, strictly: a number is not text, text is not a number, as the document says."""
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as error:
        raise Invalid(problems(error)) from None


def from_data(model: type[P], data: Any) -> P:
    """An already parsed JSON value, strictly (as :func:`from_json`)."""
    return from_json(model, json.dumps(data))


def check(model: type[P], data: Any) -> P:
    """A dict a page built from its form (text and lists of text), laxly: a service's entrance, so
    that the page and the API (already checked strictly by ``@operation``) are held to one model."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise Invalid(problems(error)) from None


def from_form(model: type[P], form: Any) -> P:
    """An HTML form (or a query string): text coerced to the declared types. A list-typed field
    takes every value sent under its name; an empty value counts as absent."""
    data: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        values = [v for v in form.getlist(key)] if hasattr(form, "getlist") else [form.get(key)]
        values = [v for v in values if v is not None and v != ""]
        if not values:
            continue
        data[key] = values if "list[" in str(info.annotation) else values[0]  # list[…], alone or in a union
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise Invalid(problems(error)) from None


def from_query(model: type[P], args: Any) -> P:
    """Query parameters, as :func:`from_form`."""
    return from_form(model, args)


__all__ = ["Field", "Payload", "check", "from_data", "from_form", "from_json", "from_query", "problems", "refuse", "text",
           "worded"]


# --- Pieces shared by several payloads ---------------------------------------------------------

def one_of(values: Iterable[str], *, nullable: bool = False) -> Any:
    """Text the feature's service checks against ``values`` with its own words (and accepts in
    other spellings, e.g. lower case); the document lists the canonical ones."""
    choices = list(values)
    if nullable:
        return Annotated[str | None, Field(json_schema_extra={"enum": [*choices, None]})]
    return Annotated[str, Field(json_schema_extra={"enum": choices})]


CLASSIFICATIONS = ("UNCLASSIFIED", "IN-CONFIDENCE", "SENSITIVE", "RESTRICTED")
TLPS = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")


class Paging(Payload):
    """``?limit=`` and ``?cursor=`` of every list (docs/contract.md), newest first."""

    limit: int = Field(50, ge=1, le=200, description="Items per page, 1–200.")
    cursor: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                               description="next_cursor of the previous page.")


class Page(BaseModel):
    """A list answer: ``{"items": [...], "next_cursor": "…" | null}``."""

    next_cursor: str | None
