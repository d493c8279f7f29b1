"""Every rule a payload declaration states, tried on each side of its boundary through the public
entry points (``payloads.from_data`` as the JSON API checks a body, ``payloads.check`` as a page's
service checks its form, ``payloads.from_query`` as a list reads its query string).

The limits are written out here, not read back from the declarations: a test that asked the model
for its own limit could not fail when the limit changed. `make mutants` (``tools/mutants.py
--declarations``) changes each rule of ``portal/payloads.py`` and the features' ``schemas.py`` in turn
and expects one of these tests to fail; what none can tell apart is listed, with the reason, in
``tests/mutants/equivalent.txt``."""
from __future__ import annotations

import copy
from typing import Any

import pytest
from werkzeug.datastructures import MultiDict

from portal import payloads
from portal.bulletins import schemas as bulletins
from portal.deportees import schemas as deportees
from portal.notifications import schemas as notifications
from portal.payloads import Paging, check, field_key, from_data, from_form, from_json, from_query, refuse
from portal.problems import Invalid
from portal.ratings import schemas as ratings
from portal.submissions import schemas as submissions
from portal.wording import schemas as wording

#: The smallest payload each model accepts; a rule's test changes one value of it.
BASE: dict[Any, dict[str, Any]] = {
    Paging: {},
    bulletins.Audience: {},
    bulletins.Indicator: {"type": "phone", "value": "1"},
    bulletins.BulletinInput: {"title": "T", "classification": "SENSITIVE", "tlp": "GREEN"},
    bulletins.BulletinChange: {"change_note": "n"},
    bulletins.FeedbackInput: {"rating": "useful"},
    bulletins.WithdrawInput: {"reason": "r"},
    bulletins.MessageInput: {"body": "b"},
    bulletins.SendBackInput: {"comment": "c"},
    bulletins.SightingInput: {"seen_at": "2026-01-01T00:00:00Z"},
    bulletins.BulletinQuery: {},
    submissions.Document: {"type": "passport", "number": "N"},
    submissions.Person: {"kind": "person"},
    submissions.Entity: {"kind": "entity", "name": "E"},
    submissions.Account: {"kind": "account", "number": "1"},
    submissions.Vessel: {"kind": "vessel"},
    submissions.Container: {"kind": "container", "number": "C"},
    submissions.Flight: {"kind": "flight", "number": "F"},
    submissions.Vehicle: {"kind": "vehicle"},
    submissions.Phone: {"kind": "phone"},
    submissions.Email: {"kind": "email"},
    submissions.Transaction: {"date": "2026-01-01", "amount": "1.00", "currency": "NZD"},
    submissions.AttachmentInput: {"filename": "f", "content_base64": ""},
    submissions.Relation: {"subject": "s", "role": "holder"},
    submissions.SubmissionInput: {"classification": "SENSITIVE", "typologies": ["t"], "narrative": "n"},
    submissions.SubmissionQuery: {},
    submissions.NoteInput: {"body": "b"},
    submissions.FeedbackInput: {},
    deportees.Document: {"type": "passport", "number": "N"},
    deportees.PersonInput: {},
    deportees.RemovalInput: {"arrival_at": "2026-12-20T06:30:00Z"},
    deportees.NotificationInput: {"destination_country": "WS", "person": {},
                                  "removal": {"arrival_at": "2026-12-20T06:30:00Z"}, "legal_basis": "L"},
    deportees.UpdateInput: {"kind": "arrived"},
    deportees.NotificationQuery: {},
    ratings.SelfAnswer: {},
    ratings.AssessorAnswer: {},
    ratings.RatingInput: {},
    ratings.EvidenceInput: {"criterion": "gov-1"},
    notifications.PreferencesInput: {"digest_hour": 7},
    notifications.WebhookInput: {"name": "N", "url": "https://x.example"},
}
#: Checked as a query string (text values, repeated names for lists), as ``from_query`` does.
QUERIES = {Paging, bulletins.BulletinQuery, submissions.SubmissionQuery, deportees.NotificationQuery}
#: Checked as a page's service checks its form (``check``: text coerced to the declared types).
FORMS = {ratings.SelfAnswer, ratings.AssessorAnswer, ratings.RatingInput, ratings.EvidenceInput,
         notifications.PreferencesInput, notifications.WebhookInput}


@pytest.fixture(autouse=True)
def registered_events(monkeypatch):
    """The kinds of message the features register when the app starts (none are without it)."""
    from portal.outbox import EVENTS

    monkeypatch.setitem(EVENTS, "bulletin.published", "A bulletin is published")


def key(path: tuple) -> str:
    """("subjects", 0, "notes") → subjects[0].notes (written here, not by the code under test)."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def put(data: dict, path: tuple, value: Any) -> dict:
    data = copy.deepcopy(data)
    target: Any = data
    for part, following in zip(path, path[1:], strict=False):
        if isinstance(part, int):
            while len(target) <= part:
                target.append([] if isinstance(following, int) else {})
        elif part not in target:
            target[part] = [] if isinstance(following, int) else {}
        target = target[part]
    last = path[-1]
    if isinstance(last, int):
        while len(target) <= last:
            target.append(None)
    target[last] = value
    return data


def without(data: dict, path: tuple) -> dict:
    data = copy.deepcopy(data)
    target: Any = data
    for part in path[:-1]:
        target = target[part]
    target.pop(path[-1], None)
    return data


def validate(model: Any, data: dict) -> Any:
    if model in QUERIES:
        form = MultiDict()
        for name, value in data.items():
            for item in value if isinstance(value, list) else [value]:
                form.add(name, str(item))
        return from_query(model, form)
    if model in FORMS:
        return check(model, data)
    return from_data(model, data)


def refusal(model: Any, data: dict) -> dict[str, list[str]]:
    try:
        validate(model, data)
    except Invalid as invalid:
        return invalid.fields
    return {}


def too_long(n: int) -> str:
    return f"Give text of at most {n} characters."


REQUIRED = "This is required."
OUT_OF_RANGE = "The number is out of range."


# --- Text of at most n characters ---------------------------------------------------------------

TEXT = [  # (model, path, limit, the sentence when it is longer)
    (Paging, ("cursor",), 64, None),
    (bulletins.Audience, ("orgs", 0), 100, None), (bulletins.Audience, ("sectors", 0), 100, None),
    (bulletins.Audience, ("countries", 0), 10, None), (bulletins.Audience, ("users", 0), 320, None),
    (bulletins.Indicator, ("value",), 1000, None),
    (bulletins.BulletinInput, ("title",), 300, None), (bulletins.BulletinInput, ("summary",), 2000, None),
    (bulletins.BulletinInput, ("body_html",), 200_000, None), (bulletins.BulletinInput, ("typologies", 0), 100, None),
    (bulletins.BulletinInput, ("expires_at",), 40, None), (bulletins.BulletinInput, ("change_note",), 2000, None),
    (bulletins.BulletinChange, ("title",), 300, None), (bulletins.BulletinChange, ("change_note",), 2000, None),
    (bulletins.FeedbackInput, ("comment",), 2000, "The comment is text of at most 2000 characters."),
    (bulletins.WithdrawInput, ("reason",), 2000, "Say why it is withdrawn (at most 2000 characters)."),
    (bulletins.MessageInput, ("body",), 5000, "Write some text, at most 5000 characters."),
    (bulletins.SendBackInput, ("comment",), 2000, "Say what needs to change (at most 2000 characters)."),
    (bulletins.SightingInput, ("seen_at",), 40, None),
    (bulletins.SightingInput, ("context",), 2000, "The context is text of at most 2000 characters."),
    (bulletins.BulletinQuery, ("q",), 200, None), (bulletins.BulletinQuery, ("typology",), 100, None),
    (bulletins.BulletinQuery, ("author_org", 0), 100, None),
    (bulletins.BulletinQuery, ("since",), 40, None), (bulletins.BulletinQuery, ("until",), 40, None),
    (submissions.Document, ("number",), 60, None), (submissions.Document, ("country",), 20, None),
    (submissions.Person, ("notes",), 2000, None), (submissions.Person, ("names", 0), 300, None),
    (submissions.Person, ("names",), 300, None), (submissions.Person, ("name",), 300, None),
    (submissions.Person, ("aliases", 0), 300, None), (submissions.Person, ("aliases",), 300, None),
    (submissions.Person, ("date_of_birth",), 20, None), (submissions.Person, ("nationality",), 20, None),
    (submissions.Entity, ("name",), 300, None), (submissions.Entity, ("registration_number",), 300, None),
    (submissions.Entity, ("country",), 20, None),
    (submissions.Account, ("number",), 300, None), (submissions.Account, ("institution",), 300, None),
    (submissions.Account, ("holder",), 300, None), (submissions.Account, ("name",), 300, None),
    (submissions.Account, ("swift",), 11, None), (submissions.Account, ("country",), 20, None),
    (submissions.Vessel, ("name",), 300, None), (submissions.Vessel, ("imo",), 300, None),
    (submissions.Container, ("number",), 300, None),
    (submissions.Flight, ("number",), 300, None), (submissions.Flight, ("date",), 20, None),
    (submissions.Vehicle, ("registration",), 300, None), (submissions.Vehicle, ("number",), 300, None),
    (submissions.Vehicle, ("description",), 300, None),
    (submissions.Phone, ("number",), 300, None), (submissions.Phone, ("value",), 300, None),
    (submissions.Email, ("address",), 300, None), (submissions.Email, ("value",), 300, None),
    (submissions.Email, ("email",), 300, None),
    (submissions.Transaction, ("date",), 20, None), (submissions.Transaction, ("currency",), 10, None),
    (submissions.Transaction, ("method",), 40, None), (submissions.Transaction, ("description",), 2000, None),
    (submissions.AttachmentInput, ("filename",), 255, None),
    (submissions.SubmissionInput, ("recipient_org",), 100, None),
    (submissions.SubmissionInput, ("typologies", 0), 100, None), (submissions.SubmissionInput, ("typologies",), 100, None),
    (submissions.SubmissionInput, ("narrative",), 1_000_000, None), (submissions.SubmissionInput, ("follows",), 40, None),
    (submissions.SubmissionQuery, ("q",), 200, None),
    (submissions.NoteInput, ("body",), 10_000, "Write a note of at most 10000 characters."),
    (submissions.FeedbackInput, ("outcome",), 100, None),
    (submissions.FeedbackInput, ("text",), 10_000, "Write at most 10000 characters."),
    (deportees.Document, ("number",), 60, None), (deportees.Document, ("country",), 20, None),
    (deportees.PersonInput, ("names", 0), 300, None), (deportees.PersonInput, ("names",), 300, None),
    (deportees.PersonInput, ("name",), 300, None),
    (deportees.PersonInput, ("aliases", 0), 300, None), (deportees.PersonInput, ("aliases",), 300, None),
    (deportees.PersonInput, ("date_of_birth",), 20, None), (deportees.PersonInput, ("nationality",), 20, None),
    (deportees.RemovalInput, ("arrival_at",), 40, None), (deportees.RemovalInput, ("flight",), 20, None),
    (deportees.RemovalInput, ("arrival_airport",), 10, None),
    (deportees.NotificationInput, ("destination_country",), 20, None),
    (deportees.NotificationInput, ("legal_basis",), 2000, None),
    (deportees.NotificationInput, ("offending_summary",), 20_000, None),
    (deportees.NotificationInput, ("offences", 0), 300, None), (deportees.NotificationInput, ("offences",), 300, None),
    (deportees.NotificationInput, ("sentences", 0), 300, None), (deportees.NotificationInput, ("sentences",), 300, None),
    (deportees.NotificationInput, ("gang_affiliation",), 300, None),
    (deportees.NotificationInput, ("risk_notes",), 20_000, None),
    (deportees.NotificationInput, ("reintegration_needs",), 20_000, None),
    (deportees.NotificationInput, ("health",), 20_000, None), (deportees.NotificationInput, ("housing",), 20_000, None),
    (deportees.NotificationInput, ("family_contact",), 20_000, None),
    (deportees.NotificationInput, ("support_services",), 20_000, None),
    (deportees.UpdateInput, ("note",), 5000, "Give text of at most 5000 characters."),
    (deportees.NotificationQuery, ("document",), 60, None),
    (ratings.SelfAnswer, ("comment",), 5000, "Write at most 5000 characters."),
    (ratings.AssessorAnswer, ("action",), 5000, "Write at most 5000 characters."),
    (ratings.RatingInput, ("tier",), 100, None),
    (ratings.RatingInput, ("summary",), 10_000, "Write at most 10000 characters."),
    (ratings.EvidenceInput, ("criterion",), 100, "Choose the criterion this evidence supports."),
    (notifications.WebhookInput, ("name",), 100, None), (notifications.WebhookInput, ("url",), 1000, None),
]

#: Fields of names that take a list or one text: a problem is the field's (``names``), or one
#: item's (``names[0]``), never a key naming pydantic's union member.
LIST_OR_TEXT_WORDS = {deportees.PersonInput: "Give a list of at most 10 names.",
                      deportees.NotificationInput: "Give a list of at most 10 names."}


@pytest.mark.parametrize("model, path, limit, sentence", TEXT,
                         ids=[f"{m.__name__}.{key(p)}" for m, p, _n, _s in TEXT])
def test_text_of_at_most_n_characters(model, path, limit, sentence):
    assert refusal(model, put(BASE[model], path, "x" * limit)) == {}
    if path[0] in NAME_FIELDS and model in LIST_OR_TEXT_WORDS:  # the field's own sentence, for the field
        assert refusal(model, put(BASE[model], path, "x" * (limit + 1))) == {path[0]: [LIST_OR_TEXT_WORDS[model]]}
        return
    assert refusal(model, put(BASE[model], path, "x" * (limit + 1))) == {key(path): [sentence or too_long(limit)]}


def test_webhook_events_are_short_known_kinds():
    base = BASE[notifications.WebhookInput]
    assert refusal(notifications.WebhookInput, put(base, ("events", 0), "bulletin.published")) == {}
    assert refusal(notifications.WebhookInput, put(base, ("events", 0), "x" * 100)) == {
        "events": ["Unknown kinds of message: " + "x" * 100 + "."]}
    assert refusal(notifications.WebhookInput, put(base, ("events", 0), "x" * 101)) == {"events[0]": [too_long(100)]}


NAME_FIELDS = {"names", "aliases", "offences", "sentences"}


def test_text_fields_refuse_a_number_in_json_and_take_text_in_a_form():
    assert refusal(bulletins.BulletinInput, put(BASE[bulletins.BulletinInput], ("title",), 7)) == {"title": ["Give text."]}
    assert check(bulletins.BulletinInput, {**BASE[bulletins.BulletinInput], "title": "7"}).title == "7"


# --- Lists of at most n items --------------------------------------------------------------------

LISTS = [  # (model, path, limit, one item)
    (bulletins.Audience, ("orgs",), 500, "o"), (bulletins.Audience, ("sectors",), 100, "s"),
    (bulletins.Audience, ("countries",), 100, "WS"), (bulletins.Audience, ("users",), 500, "a@b.example"),
    (bulletins.BulletinInput, ("indicators",), 200, {"type": "phone", "value": "1"}),
    (bulletins.BulletinInput, ("typologies",), 100, "t"),
    (bulletins.BulletinQuery, ("author_org",), 50, "o"),
    (submissions.Person, ("names",), 10, "N"), (submissions.Person, ("aliases",), 10, "A"),
    (submissions.Person, ("documents",), 10, {"type": "passport", "number": "N"}),
    (submissions.SubmissionInput, ("subjects",), 100, {"kind": "phone"}),
    (submissions.SubmissionInput, ("transactions",), 500, {"date": "2026-01-01", "amount": "1", "currency": "NZD"}),
    (submissions.SubmissionInput, ("attachments",), 20, {"filename": "f", "content_base64": ""}),
    (submissions.SubmissionInput, ("relations",), 500, {"subject": "s", "role": "holder"}),
    (deportees.PersonInput, ("names",), 10, "N"), (deportees.PersonInput, ("aliases",), 10, "A"),
    (deportees.PersonInput, ("documents",), 10, {"type": "passport", "number": "N"}),
    (deportees.NotificationInput, ("offences",), 10, "o"), (deportees.NotificationInput, ("sentences",), 10, "s"),
]


@pytest.mark.parametrize("model, path, limit, item", LISTS, ids=[f"{m.__name__}.{key(p)}" for m, p, _n, _i in LISTS])
def test_lists_of_at_most_n_items(model, path, limit, item):
    assert refusal(model, put(BASE[model], path, [item] * limit)) == {}
    words = LIST_OR_TEXT_WORDS.get(model) if path[0] in NAME_FIELDS else None
    assert refusal(model, put(BASE[model], path, [item] * (limit + 1))) == {
        key(path): [words or f"Give at most {limit} items."]}


# --- Whole numbers within a range ----------------------------------------------------------------

RANGES = [  # (model, path, lowest, highest, the sentence outside it)
    (Paging, ("limit",), 1, 200, None), (bulletins.BulletinQuery, ("limit",), 1, 200, None),
    (submissions.SubmissionQuery, ("limit",), 1, 200, None), (deportees.NotificationQuery, ("limit",), 1, 200, None),
    (bulletins.SightingInput, ("indicator",), 1, 2**31 - 1, None),
    (submissions.Relation, ("transaction",), 0, None, None),
    (ratings.SelfAnswer, ("score",), 0, 4, "A score is a whole number from 0 to 4."),
    (ratings.AssessorAnswer, ("assessor_score",), 0, 4, "A score is a whole number from 0 to 4."),
    (notifications.PreferencesInput, ("digest_hour",), 0, 23, "Choose an hour from 0 to 23 for your digest."),
]


@pytest.mark.parametrize("model, path, lowest, highest, sentence", RANGES,
                         ids=[f"{m.__name__}.{key(p)}" for m, p, *_r in RANGES])
def test_whole_numbers_within_their_range(model, path, lowest, highest, sentence):
    refused = {key(path): [sentence or OUT_OF_RANGE]}
    assert refusal(model, put(BASE[model], path, lowest)) == {}
    assert refusal(model, put(BASE[model], path, lowest - 1)) == refused
    if highest is not None:
        assert refusal(model, put(BASE[model], path, highest)) == {}
        assert refusal(model, put(BASE[model], path, highest + 1)) == refused
    else:
        assert refusal(model, put(BASE[model], path, 2**62)) == {}


# --- Required fields, and the defaults of the others --------------------------------------------

REQUIRED_FIELDS = [  # (model, path, the sentence when it is missing)
    (bulletins.Indicator, ("type",), None), (bulletins.Indicator, ("value",), None),
    (bulletins.BulletinInput, ("title",), None), (bulletins.BulletinInput, ("classification",), None),
    (bulletins.BulletinInput, ("tlp",), None), (bulletins.BulletinChange, ("change_note",), None),
    (bulletins.FeedbackInput, ("rating",), None), (bulletins.WithdrawInput, ("reason",), None),
    (bulletins.MessageInput, ("body",), None), (bulletins.SightingInput, ("seen_at",), None),
    (bulletins.SendBackInput, ("comment",), None), (submissions.NoteInput, ("body",), None),
    (submissions.Document, ("type",), None), (submissions.Document, ("number",), None),
    (submissions.Entity, ("name",), None), (submissions.Account, ("number",), None),
    (submissions.Container, ("number",), None), (submissions.Flight, ("number",), None),
    (submissions.Transaction, ("date",), None), (submissions.Transaction, ("amount",), None),
    (submissions.Transaction, ("currency",), None),
    (submissions.AttachmentInput, ("filename",), None), (submissions.AttachmentInput, ("content_base64",), None),
    (submissions.Relation, ("subject",), None), (submissions.Relation, ("role",), None),
    (submissions.SubmissionInput, ("classification",), None), (submissions.SubmissionInput, ("typologies",), None),
    (submissions.SubmissionInput, ("narrative",), None),
    (deportees.Document, ("type",), None), (deportees.Document, ("number",), None),
    (deportees.RemovalInput, ("arrival_at",), None),
    (deportees.NotificationInput, ("destination_country",), None), (deportees.NotificationInput, ("person",), None),
    (deportees.NotificationInput, ("removal",), None), (deportees.NotificationInput, ("legal_basis",), None),
    (deportees.UpdateInput, ("kind",), None), (ratings.EvidenceInput, ("criterion",), None),
    (notifications.PreferencesInput, ("digest_hour",), None),
    (notifications.WebhookInput, ("name",), None), (notifications.WebhookInput, ("url",), None),
]
for _kind, _model in [("person", submissions.Person), ("entity", submissions.Entity), ("account", submissions.Account),
                      ("vessel", submissions.Vessel), ("container", submissions.Container),
                      ("flight", submissions.Flight), ("vehicle", submissions.Vehicle), ("phone", submissions.Phone),
                      ("email", submissions.Email)]:
    REQUIRED_FIELDS.append((_model, ("kind",), None))


@pytest.mark.parametrize("model, path, sentence", REQUIRED_FIELDS,
                         ids=[f"{m.__name__}.{key(p)}" for m, p, _s in REQUIRED_FIELDS])
def test_required_fields(model, path, sentence):
    assert refusal(model, BASE[model]) == {}
    assert refusal(model, without(BASE[model], path)) == {key(path): [sentence or REQUIRED]}


OPTIONAL = [  # (model, field, its value when left out)
    (Paging, "limit", 50), (Paging, "cursor", None),
    (bulletins.Audience, "orgs", []), (bulletins.Audience, "sectors", []), (bulletins.Audience, "countries", []),
    (bulletins.Audience, "users", []),
    (bulletins.BulletinInput, "summary", ""), (bulletins.BulletinInput, "body_html", ""),
    (bulletins.BulletinInput, "audience", None), (bulletins.BulletinInput, "indicators", []),
    (bulletins.BulletinInput, "typologies", []), (bulletins.BulletinInput, "expires_at", None),
    (bulletins.BulletinInput, "publish", False), (bulletins.BulletinInput, "change_note", None),
    (bulletins.BulletinChange, "title", None), (bulletins.BulletinChange, "classification", None),
    (bulletins.BulletinChange, "tlp", None),
    (bulletins.FeedbackInput, "comment", None), (bulletins.SightingInput, "indicator", None),
    (bulletins.SightingInput, "context", ""),
    (bulletins.BulletinQuery, "q", None), (bulletins.BulletinQuery, "typology", None),
    (bulletins.BulletinQuery, "classification", None), (bulletins.BulletinQuery, "tlp", None),
    (bulletins.BulletinQuery, "author_org", None), (bulletins.BulletinQuery, "since", None),
    (bulletins.BulletinQuery, "until", None),
    (submissions.Document, "country", None),
    (submissions.Person, "id", None), (submissions.Person, "notes", None), (submissions.Person, "names", None),
    (submissions.Person, "name", None), (submissions.Person, "aliases", None),
    (submissions.Person, "date_of_birth", None), (submissions.Person, "nationality", None),
    (submissions.Person, "gender", None), (submissions.Person, "documents", None),
    (submissions.Entity, "registration_number", None), (submissions.Entity, "country", None),
    (submissions.Account, "institution", None), (submissions.Account, "holder", None),
    (submissions.Account, "name", None), (submissions.Account, "swift", None), (submissions.Account, "country", None),
    (submissions.Vessel, "name", None), (submissions.Vessel, "imo", None), (submissions.Flight, "date", None),
    (submissions.Vehicle, "registration", None), (submissions.Vehicle, "number", None),
    (submissions.Vehicle, "description", None),
    (submissions.Phone, "number", None), (submissions.Phone, "value", None),
    (submissions.Email, "address", None), (submissions.Email, "value", None), (submissions.Email, "email", None),
    (submissions.Transaction, "from_", None), (submissions.Transaction, "to", None),
    (submissions.Transaction, "method", None), (submissions.Transaction, "description", None),
    (submissions.Transaction, "amount_local", None),
    (submissions.Relation, "to", None), (submissions.Relation, "transaction", None),
    (submissions.SubmissionInput, "recipient_org", None), (submissions.SubmissionInput, "follows", None),
    (submissions.SubmissionInput, "subjects", []), (submissions.SubmissionInput, "transactions", []),
    (submissions.SubmissionInput, "attachments", []), (submissions.SubmissionInput, "relations", []),
    (submissions.SubmissionQuery, "status", None), (submissions.SubmissionQuery, "q", None),
    (submissions.FeedbackInput, "outcome", None), (submissions.FeedbackInput, "words", ""),
    (deportees.Document, "country", None),
    (deportees.PersonInput, "names", None), (deportees.PersonInput, "name", None),
    (deportees.PersonInput, "aliases", None), (deportees.PersonInput, "date_of_birth", None),
    (deportees.PersonInput, "sex", None), (deportees.PersonInput, "nationality", None),
    (deportees.PersonInput, "documents", None), (deportees.PersonInput, "photo_base64", None),
    (deportees.RemovalInput, "flight", None), (deportees.RemovalInput, "arrival_airport", None),
    (deportees.NotificationInput, "classification", "SENSITIVE"),
    *[(deportees.NotificationInput, name, None) for name in (
        "offending_summary", "offences", "sentences", "gang_affiliation", "risk_level", "risk_notes",
        "reintegration_needs", "health", "housing", "family_contact", "support_services")],
    (deportees.UpdateInput, "note", None), (deportees.NotificationQuery, "document", None),
    (ratings.SelfAnswer, "score", None), (ratings.SelfAnswer, "comment", ""),
    (ratings.AssessorAnswer, "assessor_score", None), (ratings.AssessorAnswer, "action", ""),
    (ratings.RatingInput, "tier", None), (ratings.RatingInput, "summary", ""),
    (notifications.PreferencesInput, "modes", {}), (notifications.WebhookInput, "events", []),
]


@pytest.mark.parametrize("model, field, default", OPTIONAL, ids=[f"{m.__name__}.{f}" for m, f, _d in OPTIONAL])
def test_optional_fields_and_their_defaults(model, field, default):
    given = without(BASE[model], (model.model_fields[field].alias or field,))
    assert getattr(validate(model, given), field) == default


# --- Choices -------------------------------------------------------------------------------------

CLASSIFICATIONS = ["UNCLASSIFIED", "IN-CONFIDENCE", "SENSITIVE", "RESTRICTED"]
TLPS = ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]
CHOICES = [  # (model, path, every choice, the sentence for anything else)
    (bulletins.FeedbackInput, ("rating",), ["useful", "actioned", "not-relevant"],
     "Choose one of: useful, actioned, not-relevant."),
    (submissions.SubmissionQuery, ("status",), ["received", "triaged", "referred", "linked", "closed"],
     "Choose one of: received, triaged, referred, linked or closed."),
    (deportees.UpdateInput, ("kind",), ["arrived", "met-by-family", "met-by-services", "of-concern", "left-country",
                                        "other"],
     "Choose what happened: arrived, met-by-family, met-by-services, of-concern, left-country, other."),
    (notifications.PreferencesInput, ("modes", "bulletin.published"), ["immediate", "digest", "off"],
     "Choose immediately, daily digest or off for each kind of message."),
]


@pytest.mark.parametrize("model, path, choices, sentence", CHOICES,
                         ids=[f"{m.__name__}.{p[0]}" for m, p, _c, _s in CHOICES])
def test_choices(model, path, choices, sentence):
    for choice in choices:
        assert refusal(model, put(BASE[model], path, choice)) == {}, choice
    assert refusal(model, put(BASE[model], path, "other-mutant")) == {key(path[:1]): [sentence]}


#: Choices a feature's service checks in its own words (and spellings): the document lists them.
DOCUMENTED = [  # (model, field, the document's list)
    (bulletins.Indicator, "type", ["person", "organisation", "vessel-imo", "container", "flight", "bank-account",
                                   "phone", "email", "domain", "ip-address", "crypto-wallet", "vehicle"]),
    (bulletins.BulletinInput, "classification", CLASSIFICATIONS), (bulletins.BulletinInput, "tlp", TLPS),
    (bulletins.BulletinQuery, "classification", [*CLASSIFICATIONS, None]),
    (bulletins.BulletinQuery, "tlp", [*TLPS, None]),
    (submissions.Document, "type", ["passport", "national-id", "driver-licence", "other"]),
    (submissions.Relation, "role", ["holder", "signatory", "director", "shareholder", "beneficial-owner",
                                    "conductor", "beneficiary"]),
    (submissions.SubmissionInput, "classification", CLASSIFICATIONS),
    (deportees.Document, "type", ["passport", "national-id", "driver-licence", "other"]),
    (deportees.PersonInput, "sex", ["F", "M", "X", None]),
    (deportees.NotificationInput, "classification", CLASSIFICATIONS),
    (deportees.NotificationInput, "risk_level", ["low", "medium", "high", None]),
]


@pytest.mark.parametrize("model, field, listed", DOCUMENTED, ids=[f"{m.__name__}.{f}" for m, f, _l in DOCUMENTED])
def test_documented_choices(model, field, listed):
    assert model.model_json_schema()["properties"][field]["enum"] == listed
    nullable = None in listed
    assert (refusal(model, put(BASE[model], (field,), None)) == {}) is nullable
    assert (check(model, {**BASE[model], field: None}) is not None) if nullable else True


SUBJECT_KINDS = ["person", "entity", "account", "vessel", "container", "flight", "vehicle", "phone", "email"]


@pytest.mark.parametrize("kind", SUBJECT_KINDS)
def test_each_kind_of_subject_is_told_apart_and_its_problems_keyed_without_the_kind(kind):
    model = {m.model_fields["kind"].annotation.__args__[0]: m for m in (
        submissions.Person, submissions.Entity, submissions.Account, submissions.Vessel, submissions.Container,
        submissions.Flight, submissions.Vehicle, submissions.Phone, submissions.Email)}[kind]
    report = put(BASE[submissions.SubmissionInput], ("subjects", 0), BASE[model])
    assert type(validate(submissions.SubmissionInput, report).subjects[0]).__name__ == model.__name__
    assert refusal(model, {**BASE[model], "kind": "other"}) == {"kind": [f"Choose one of: {kind}."]}
    long_notes = put(report, ("subjects", 0, "notes"), "x" * 2001)
    assert refusal(submissions.SubmissionInput, long_notes) == {"subjects[0].notes": [too_long(2000)]}
    with_id = put(report, ("subjects", 0, "id"), "a" * 40)
    assert refusal(submissions.SubmissionInput, with_id) == {}


def test_a_field_named_like_a_kind_of_subject_keeps_its_name():
    report = put(BASE[submissions.SubmissionInput], ("subjects", 0), {"kind": "email", "email": "x" * 301})
    assert refusal(submissions.SubmissionInput, report) == {"subjects[0].email": [too_long(300)]}
    assert field_key(("subjects", 0, "email", "email")) == "subjects[0].email"


def test_a_subject_of_no_known_kind_or_none_names_the_kind_field():
    report = put(BASE[submissions.SubmissionInput], ("subjects", 0), {"kind": "ghost"})
    assert refusal(submissions.SubmissionInput, report) == {
        "subjects[0].kind": ["Choose one of: " + ", ".join(SUBJECT_KINDS) + "."]}
    assert refusal(submissions.SubmissionInput, put(report, ("subjects", 0), {})) == {
        "subjects[0].kind": ["Choose one of: kind."]}


# --- Patterns -----------------------------------------------------------------------------------

@pytest.mark.parametrize("value, accepted", [("a" * 40, True), ("A-z_9", True), ("", False), ("a" * 41, False),
                                             ("a b", False), ("a.b", False)])
def test_subject_ids(value, accepted):
    for path in (("id",),):
        assert (refusal(submissions.Person, put(BASE[submissions.Person], path, value)) == {}) is accepted
    for name in ("from", "to"):
        refused = refusal(submissions.Transaction, put(BASE[submissions.Transaction], (name,), value))
        assert refused == ({} if accepted else {name: ["This is not in the expected form."]})


@pytest.mark.parametrize("value, accepted", [("abc-_09XZ", True), ("a" * 64, True), ("a+b", False), ("a b", False)])
def test_cursors(value, accepted):
    refused = refusal(Paging, {"cursor": value})
    assert refused == ({} if accepted else {"cursor": ["This is not in the expected form."]})


@pytest.mark.parametrize("model, path, sentence", [
    (bulletins.WithdrawInput, ("reason",), "Say why it is withdrawn (at most 2000 characters)."),
    (bulletins.MessageInput, ("body",), "Write some text, at most 5000 characters."),
    (bulletins.SendBackInput, ("comment",), "Say what needs to change (at most 2000 characters)."),
    (submissions.NoteInput, ("body",), "Write a note of at most 10000 characters."),
    (deportees.NotificationInput, ("legal_basis",), REQUIRED),
    (ratings.EvidenceInput, ("criterion",), "Choose the criterion this evidence supports."),
    (notifications.WebhookInput, ("name",), REQUIRED), (notifications.WebhookInput, ("url",), REQUIRED),
])
def test_required_text_needs_more_than_spaces(model, path, sentence):
    assert refusal(model, put(BASE[model], path, " \t ")) == {key(path): [sentence]}
    assert refusal(model, put(BASE[model], path, "")) == {key(path): [sentence]}
    assert refusal(model, put(BASE[model], path, " x ")) == {}


# --- Shapes: the types each rule is about -------------------------------------------------------

def test_list_or_one_text():
    person = BASE[submissions.Person]
    assert validate(submissions.Person, {**person, "names": "Sione"}).names == "Sione"
    assert validate(submissions.Person, {**person, "names": ["Sione", "Tavita"]}).names == ["Sione", "Tavita"]
    assert refusal(submissions.Person, {**person, "names": 7}) == {"names": ["Give a list.", "Give text."]}
    assert refusal(deportees.PersonInput, {"names": 7}) == {"names": ["Give a list of at most 10 names."]}
    report = BASE[submissions.SubmissionInput]
    assert validate(submissions.SubmissionInput, {**report, "typologies": "t"}).typologies == "t"


def test_union_members_are_never_keys():
    amount = put(BASE[submissions.Transaction], ("amount",), [1])
    assert set(refusal(submissions.Transaction, amount)) == {"amount"}
    relation = put(BASE[submissions.Relation], ("to",), [1])
    assert set(refusal(submissions.Relation, relation)) == {"to"}


def test_json_is_strict_and_a_form_is_not():
    assert refusal(bulletins.SightingInput, {**BASE[bulletins.SightingInput], "indicator": "5"}) == {
        "indicator": ["Give a whole number."]}
    assert check(bulletins.SightingInput, {**BASE[bulletins.SightingInput], "indicator": "5"}).indicator == 5
    assert refusal(bulletins.BulletinInput, {**BASE[bulletins.BulletinInput], "publish": "yes"}) == {
        "publish": ["Give true or false."]}
    assert refusal(bulletins.BulletinInput, {**BASE[bulletins.BulletinInput], "publish": "maybe"}) == {
        "publish": ["Give true or false."]}
    assert validate(bulletins.BulletinInput, {**BASE[bulletins.BulletinInput], "publish": True}).publish is True


# --- The sentences: each kind of problem in the portal's words ------------------------------------

SENTENCES = [  # (model, data, the field errors)
    (bulletins.BulletinInput, {"title": "T", "classification": "SENSITIVE"}, {"tlp": [REQUIRED]}),
    (bulletins.BulletinInput, {**BASE[bulletins.BulletinInput], "title": None}, {"title": ["Give text."]}),
    (submissions.Transaction, {**BASE[submissions.Transaction], "from": "a b"},
     {"from": ["This is not in the expected form."]}),
    (bulletins.SightingInput, {**BASE[bulletins.SightingInput], "indicator": 1.5}, {"indicator": ["Give a whole number."]}),
    (bulletins.SightingInput, {**BASE[bulletins.SightingInput], "indicator": "x"}, {"indicator": ["Give a whole number."]}),
    (bulletins.SightingInput, {**BASE[bulletins.SightingInput], "indicator": 0}, {"indicator": [OUT_OF_RANGE]}),
    (bulletins.BulletinInput, {**BASE[bulletins.BulletinInput], "publish": 1}, {"publish": ["Give true or false."]}),
    (bulletins.BulletinInput, {**BASE[bulletins.BulletinInput], "indicators": "x"}, {"indicators": ["Give a list."]}),
    (bulletins.BulletinInput, {**BASE[bulletins.BulletinInput], "audience": []}, {"audience": ["Give an object."]}),
    (bulletins.BulletinInput, {**BASE[bulletins.BulletinInput], "indicators": [1]}, {"indicators[0]": ["Give an object."]}),
    (notifications.PreferencesInput, {"digest_hour": 7, "modes": []}, {"modes": [
        "Choose immediately, daily digest or off for each kind of message."]}),
    (notifications.WebhookInput, {**BASE[notifications.WebhookInput], "events": ["x.y"]}, {
        "events": ["Unknown kinds of message: x.y."]}),
    (deportees.UpdateInput, {"kind": "gone"}, {"kind": [
        "Choose what happened: arrived, met-by-family, met-by-services, of-concern, left-country, other."]}),
]


@pytest.mark.parametrize("model, data, fields", SENTENCES, ids=[str(i) for i in range(len(SENTENCES))])
def test_each_kind_of_problem_in_the_portals_words(model, data, fields):
    assert refusal(model, data) == fields


def test_message_of_each_pydantic_error_kind():
    """What pydantic reports, in the portal's sentences: kinds no declaration makes today too."""
    def said(kind: str, **ctx: Any) -> str:
        return payloads.message({"type": kind, "loc": ("f",), "msg": "m", "input": "2026-13-45", "ctx": ctx})

    assert said("missing") == REQUIRED and said("string_too_short", min_length=1) == REQUIRED
    assert said("string_too_short") == REQUIRED  # no min_length in the context: at least one
    assert said("string_too_short", min_length=2) == "This value is not accepted."
    assert said("missing", min_length=0) == REQUIRED
    assert said("string_pattern_mismatch", pattern=r"\S") == REQUIRED
    assert said("string_pattern_mismatch", pattern="^a$") == "This is not in the expected form."
    assert said("string_too_long", pattern=r"\S", max_length=5) == too_long(5)
    assert said("string_too_long", max_length=9) == too_long(9)
    assert said("string_type") == said("string_unicode") == "Give text."
    assert said("int_type") == said("int_parsing") == said("int_from_float") == "Give a whole number."
    for kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        assert said(kind) == OUT_OF_RANGE
    assert said("bool_type") == said("bool_parsing") == "Give true or false."
    assert said("literal_error", expected="'a' or 'b'") == said("enum", expected="'a' or 'b'") == "Choose one of: a or b."
    assert said("union_tag_invalid", expected_tags="'a', 'b'") == "Choose one of: a, b."
    assert said("union_tag_not_found", discriminator="'kind'") == "Choose one of: kind."
    assert said("list_type") == said("tuple_type") == said("set_type") == "Give a list."
    assert said("too_long", max_length=3) == "Give at most 3 items."
    assert said("too_short", min_length=2) == "Give at least 2 items."
    assert said("dict_type") == said("model_type") == said("model_attributes_type") == "Give an object."
    assert said("date_from_datetime_parsing") == said("date_parsing") == (
        "2026-13-45 is not a date: write it as YYYY-MM-DD, e.g. 2026-10-01.")
    assert said("datetime_parsing") == said("timezone_aware") == "Give a date and time, e.g. 2026-12-20T06:30:00Z."
    assert said("json_invalid") == said("json_type") == "Send a JSON object."
    assert said("value_error", error="Nope.") == "Nope."
    assert said("value_error") == "m"
    assert said("portal") == said("portal_own") == "m"
    assert said("frozen_instance") == "This value is not accepted."
    assert payloads.message({"type": "missing", "loc": (), "msg": "m", "input": None}) == REQUIRED


def test_no_context_at_all():
    assert payloads.message({"type": "string_too_long", "loc": (), "msg": "m", "input": "x", "ctx": None}) == (
        "Give text of at most None characters.")


# --- Keys, the JSON body, forms, refusals ------------------------------------------------------------

@pytest.mark.parametrize("loc, expected", [
    (("subjects", 0, "person", "date_of_birth"), "subjects[0].date_of_birth"),
    (("names", "list[constrained-str]", 0), "names[0]"),
    (("names", "constrained-str"), "names"),
    (("date",), "date"), (("transactions", 0, "date"), "transactions[0].date"),
    (("subjects", 0, "flight", "date"), "subjects[0].date"), (("amount", "str", "x"), "amount.x"),
    (("amount", "str"), "amount"), (("amount", "float"), "amount"),
    (("a", "person"), "a.person"),
    (("a", 0, "b", "person"), "a[0].b.person"),
    ((), "body"), ((0,), "[0]"),
    (("a", 0, 1, "person"), "a[0][1]"),
    (("a", "str", "str"), "a.str"), (("person", "x"), "person.x"), ((0, "person", "b"), "[0].b"),
    (("a", 0, "b", "date"), "a[0].b"), (("int",), "int"), (("a", "constrained-str"), "a"),
])
def test_field_keys(loc, expected):
    assert field_key(loc) == expected


def _problems(*errors: dict) -> dict[str, list[str]]:
    from pydantic import ValidationError

    return payloads.problems(ValidationError.from_exception_data("M", list(errors)))


def test_a_union_tag_problem_names_the_discriminators_own_field():
    assert _problems({"type": "union_tag_invalid", "loc": ("x", 0), "input": {},
                      "ctx": {"discriminator": "'sort'", "tag": "z", "expected_tags": "'a', 'b'"}}) == {
        "x[0].sort": ["Choose one of: a, b."]}
    assert _problems({"type": "union_tag_not_found", "loc": ("x",), "input": {},
                      "ctx": {"discriminator": "'sort'"}}) == {"x.sort": ["Choose one of: sort."]}


def test_a_type_mismatch_of_a_union_member_is_left_out_only_when_another_member_found_the_problem():
    mismatch = {"type": "list_type", "loc": ("names", "list[constrained-str]"), "input": "x"}
    too_long = {"type": "string_too_long", "loc": ("names", "constrained-str"), "input": "x", "ctx": {"max_length": 3}}
    assert _problems(mismatch, too_long) == {"names": [too_long_words := "Give text of at most 3 characters."]}
    assert _problems(too_long, mismatch) == {"names": [too_long_words]}
    other = {"type": "string_type", "loc": ("other", "str"), "input": 1}
    assert _problems(mismatch, too_long, other) == {"names": [too_long_words], "other": ["Give text."]}
    plain = {"type": "string_type", "loc": ("title",), "input": 1}
    assert _problems(plain, too_long) == {"title": ["Give text."], "names": [too_long_words]}
    nested = {"type": "int_type", "loc": ("a", "str", "b", "int"), "input": "x"}
    nested_real = {"type": "string_too_long", "loc": ("a", "list[str]", 0), "input": "x", "ctx": {"max_length": 3}}
    assert _problems(nested, nested_real) == {"a[0]": [too_long_words]}
    assert _problems({"type": "missing", "loc": ("a", "str"), "input": {}}) == {"a": [REQUIRED]}


def test_every_problem_once_per_field():
    fields = payloads.problems(pytest.importorskip("pydantic").ValidationError.from_exception_data("M", [
        {"type": "missing", "loc": ("a",), "input": {}},
        {"type": "missing", "loc": ("a",), "input": {}},
        {"type": "string_type", "loc": ("a",), "input": 1},
    ]))
    assert fields == {"a": [REQUIRED, "Give text."]}


def test_json_bodies():
    assert from_json(bulletins.MessageInput, b'{"body": "b"}').body == "b"
    with pytest.raises(Invalid) as refused:
        from_json(bulletins.MessageInput, b"[1]")
    assert refused.value.fields == {"body": ["Give an object."]}
    with pytest.raises(Invalid) as refused:
        from_json(bulletins.MessageInput, b"{")
    assert refused.value.fields == {"body": ["Send a JSON object."]}
    with pytest.raises(Invalid) as refused:
        from_json(bulletins.SightingInput, b'{"seen_at": "x", "indicator": "5"}')
    assert refused.value.fields == {"indicator": ["Give a whole number."]}


def test_forms_take_lists_by_repeated_names_and_leave_empty_values_out():
    form = MultiDict([("author_org", "a"), ("author_org", ""), ("author_org", "b"), ("q", ""), ("limit", "5")])
    query = from_form(bulletins.BulletinQuery, form)
    assert (query.author_org, query.q, query.limit) == (["a", "b"], None, 5)
    assert from_form(bulletins.BulletinQuery, {"q": "x"}).q == "x"  # a plain mapping (no getlist) reads too
    assert from_form(submissions.Transaction, MultiDict([("from", "s1"), ("date", "d"), ("amount", "1"),
                                                         ("currency", "c")])).from_ == "s1"
    assert from_form(notifications.WebhookInput, MultiDict([("name", "n"), ("url", "u"), ("events", "bulletin.published"),
                                                            ("events", "")])).events == ["bulletin.published"]
    with pytest.raises(Invalid) as refused:
        from_form(bulletins.BulletinQuery, MultiDict([("limit", "0")]))
    assert refused.value.fields == {"limit": [OUT_OF_RANGE]}


def test_a_refusal_sentence_with_braces_is_kept_as_written():
    sentence = "Use {braces} and {{doubled}} as written."
    assert refuse(sentence).message() == sentence
    assert refuse(sentence).type == "portal"


def test_check_and_from_data_agree():
    with pytest.raises(Invalid) as by_check:
        check(bulletins.MessageInput, {"body": ""})
    with pytest.raises(Invalid) as by_data:
        from_data(bulletins.MessageInput, {"body": ""})
    assert by_check.value.fields == by_data.value.fields == {"body": ["Write some text, at most 5000 characters."]}


# --- The document the declarations write ----------------------------------------------------------

def test_the_document_leaves_out_a_null_default_of_a_field_that_takes_no_null():
    properties = bulletins.BulletinChange.model_json_schema()["properties"]
    assert "default" not in properties["title"] and "default" not in properties["classification"]
    query = bulletins.BulletinQuery.model_json_schema()["properties"]
    assert query["q"]["default"] is None  # takes null: its default stays
    assert query["classification"]["default"] is None
    assert bulletins.BulletinInput.model_json_schema()["properties"]["summary"]["default"] == ""
    assert bulletins.BulletinInput.model_json_schema()["additionalProperties"] == {payloads.JSON_VALUE_MARK: True}


def test_the_document_bounds_any_json_value():
    number = payloads.JSON_VALUE_SCHEMA["anyOf"][1]
    assert (number["minimum"], number["maximum"]) == (-(2**63 - 1), 2**63 - 1)


# --- The rating forms: one part per criterion (``<criterion>.<field>``) ------------------------------

def test_rating_forms_are_checked_per_criterion_and_keyed_as_the_form_names_them():
    form = {"gov-1.score": "", "gov-1.comment": "In place.", "gov-2.score": "3", "gov-2.comment": "",
            "per-1.score": None}
    answers = ratings.per_criterion(ratings.SelfAnswer, form, ["gov-1", "gov-2", "per-1"])
    assert [(code, a.score, a.comment) for code, a in answers.items()] == [
        ("gov-1", None, "In place."), ("gov-2", 3, ""), ("per-1", None, "")]
    with pytest.raises(Invalid) as refused:
        ratings.per_criterion(ratings.SelfAnswer, {**form, "gov-2.score": "5", "per-1.comment": "c" * 5001},
                              ["gov-1", "gov-2", "per-1"])
    assert refused.value.fields == {"gov-2.score": ["A score is a whole number from 0 to 4."],
                                    "per-1.comment": ["Write at most 5000 characters."]}
    assert ratings.whole(ratings.RatingInput, {"tier": "", "summary": "S", "gov-1.action": "x"}).tier is None
    assert ratings.whole(ratings.RatingInput, {"tier": "gold"}).tier == "gold"


# --- The last forms declared: a report's triage, a deportee route, the wording review -------------

def form_refusal(model: Any, data: dict) -> dict[str, list[str]]:
    """As a page's service checks its form (``check``: the values as a browser sends them)."""
    try:
        check(model, data)
    except Invalid as invalid:
        return invalid.fields
    return {}


ANALYST = "Choose an analyst of your agency cleared for this report."


@pytest.mark.parametrize("value, accepted", [
    (None, True), ("0", True), ("1", True), (str(2**63 - 1), True), ("-1", False), (str(2**63), False)])
def test_a_report_is_assigned_to_an_analysts_id_or_nobody(value, accepted):
    data = {} if value is None else {"assignee": value}
    assert form_refusal(submissions.AssignInput, data) == ({} if accepted else {"assignee": [ANALYST]})


def test_a_report_status_is_one_of_the_statuses_and_its_outcome_short():
    for status in ("received", "triaged", "referred", "linked", "closed"):
        assert form_refusal(submissions.StatusInput, {"status": status}) == {}
    assert set(form_refusal(submissions.StatusInput, {"status": "lost"})) == {"status"}
    assert set(form_refusal(submissions.StatusInput, {})) == {"status"}
    assert form_refusal(submissions.StatusInput, {"status": "closed", "outcome": "x" * 100}) == {}
    assert form_refusal(submissions.StatusInput, {"status": "closed", "outcome": "x" * 101}) == {
        "outcome": [too_long(100)]}


ROUTE = "Choose a destination country and an organisation."


@pytest.mark.parametrize("country, organisation, refused", [
    ("WS", "nz-police", set()), ("ws", "a", set()), ("TO", "a" + "-" * 62 + "b", set()),
    ("W", "nz-police", {"country"}), ("WSM", "nz-police", {"country"}), ("W1", "nz-police", {"country"}),
    (None, "nz-police", {"country"}),
    ("WS", "a" * 65, {"organisation"}), ("WS", "-police", {"organisation"}), ("WS", "police-", {"organisation"}),
    ("WS", "Police", {"organisation"}), ("WS", None, {"organisation"}),
])
def test_a_deportee_route_names_a_country_and_an_organisation(country, organisation, refused):
    data = {name: value for name, value in (("country", country), ("organisation", organisation)) if value is not None}
    found = form_refusal(deportees.RouteInput, data)
    assert set(found) == refused
    assert all(words == [ROUTE] for words in found.values()) or None in (country, organisation)


WORDING_TOO_LONG = "That wording is too long for this message."


@pytest.mark.parametrize("field", ["wording", *(f"wording-{n}" for n in range(6))])
def test_a_suggested_wording_is_at_most_4000_characters_in_each_of_its_fields(field):
    assert form_refusal(wording.SuggestionInput, {}) == {}
    assert form_refusal(wording.SuggestionInput, {field: "x" * 4000}) == {}
    assert form_refusal(wording.SuggestionInput, {field: "x" * 4001}) == {field: [WORDING_TOO_LONG]}


def test_a_suggestion_carries_one_wording_or_one_per_plural_form_up_to_six():
    assert wording.suggestion_fields(["une"], plural=False) == {"wording": "une"}
    assert wording.suggestion_fields([], plural=False) == {"wording": ""}
    assert wording.suggestion_fields(["a", "b"], plural=True) == {"wording-0": "a", "wording-1": "b"}
    forms = [str(n) for n in range(8)]
    assert wording.suggestion_fields(forms, plural=True) == {f"wording-{n}": str(n) for n in range(6)}
    assert wording.suggestion_fields(forms, plural=False) == {"wording": "0"}


def test_a_decision_is_accept_or_reject():
    assert form_refusal(wording.DecisionInput, {"decision": "accept"}) == {}
    assert form_refusal(wording.DecisionInput, {"decision": "reject"}) == {}
    assert set(form_refusal(wording.DecisionInput, {"decision": "maybe"})) == {"decision"}
    assert set(form_refusal(wording.DecisionInput, {})) == {"decision"}


def test_a_translator_is_given_some_of_the_six_reviewable_languages():
    assert check(wording.TranslatorInput, {}).languages == []
    assert form_refusal(wording.TranslatorInput, {"languages": ["mi", "sm", "to", "fj", "fr", "bi"]}) == {}
    assert form_refusal(wording.TranslatorInput, {"languages": ["sm"]}) == {}
    assert form_refusal(wording.TranslatorInput, {"languages": ["en"]})
    assert form_refusal(wording.TranslatorInput, {"languages": ["mi", "sm", "to", "fj", "fr", "bi", "sm"]})
