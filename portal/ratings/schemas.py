"""The resilience-rating forms (self-assessment, evidence, an assessor's rating), declared once:
see ``portal/payloads.py``.

The framework's criteria and tiers are configuration (``[resilience]``), so a form carries one part
per criterion, named ``<criterion>.<field>`` (``gov-1.score``): :func:`per_criterion` checks each
part against the same declaration and keys its errors so. Whether a criterion or a tier exists is
the service's to say (it reads the configuration)."""
from __future__ import annotations

from typing import Annotated, Any, Iterable, TypeVar

from pydantic import Field

from portal.i18n import gettext as _
from portal.payloads import Payload, check, text, worded
from portal.problems import Invalid

LOWEST, HIGHEST = 0, 4
MAX_COMMENT, MAX_SUMMARY = 5000, 10_000
P = TypeVar("P", bound=Payload)

Score = Annotated[int | None, Field(ge=LOWEST, le=HIGHEST),
                  worded(lambda: _("A score is a whole number from 0 to 4."))]


def _written(limit: int) -> Any:
    return Annotated[text(limit), worded(lambda: _("Write at most %(n)s characters.", n=limit))]


class SelfAnswer(Payload):
    """An organisation's own score of one criterion, and what it says of it (a draft may leave both out)."""

    score: Score = None
    comment: _written(MAX_COMMENT) = ""


class AssessorAnswer(Payload):
    """The assessor's score of one criterion (the service asks for every one), and the improvement action."""

    assessor_score: Score = None
    action: _written(MAX_COMMENT) = ""


class RatingInput(Payload):
    """The rating as a whole: the tier awarded (a code of the configured tiers) and its summary."""

    tier: text(100) | None = None
    summary: _written(MAX_SUMMARY) = ""


class EvidenceInput(Payload):
    """Which criterion a file of evidence supports (the file itself is the attachment component's)."""

    criterion: Annotated[text(100, required=True), worded(lambda: _("Choose the criterion this evidence supports."))]


def _present(value: Any) -> bool:
    return value is not None and value != ""


def per_criterion(model: type[P], values: Any, codes: Iterable[str]) -> dict[str, P]:
    """Each criterion's part of a form (``<code>.<field>``), checked by ``model``; every problem at
    once, keyed as the form names the field. An empty value counts as absent, as in any form."""
    found: dict[str, P] = {}
    errors: dict[str, list[str]] = {}
    for code in codes:
        part = {name: values.get(f"{code}.{name}") for name in model.model_fields}
        try:
            found[code] = check(model, {name: value for name, value in part.items() if _present(value)})
        except Invalid as invalid:
            errors.update({f"{code}.{key}": messages for key, messages in invalid.fields.items()})
    if errors:
        raise Invalid(errors)
    return found


def whole(model: type[P], values: Any) -> P:
    """The form's fields outside the criteria, checked by ``model`` (empty values absent)."""
    return check(model, {name: values.get(name) for name in model.model_fields if _present(values.get(name))})
