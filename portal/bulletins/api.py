from __future__ import annotations

import functools
import json
import operator
from typing import Any

import orjson

from flask import request
from sqlalchemy import (BigInteger, Integer, Select, String, Text, bindparam, cast, func, literal_column, null, select,
                        type_coerce, union_all)
from sqlalchemy.dialects.postgresql import aggregate_order_by

from portal import attachments, policy, reads, statements
from portal.api import bp
from portal.api.errors import ApiError, refusals
from portal.api.formats import iso, iso_stored
from portal.api.operations import FileUpload, given, operation
from portal.api.pagination import decode_cursor, encode_cursor, read_limit
from portal.api.scopes import ScopedRoutes
from portal.bulletins import filters, service
from portal.bulletins.schemas import (
    AcknowledgementOut, AttachmentOut, BulletinChange, BulletinInput, BulletinOut, BulletinPage, BulletinQuery, FeedbackInput,
    FeedbackOut, MessageInput, QuestionOut, QuestionPage, SightingInput, SightingOut, SightingPage, WithdrawInput,
)
from portal.bulletins.models import (
    AUDIENCE_KINDS,
    Bulletin,
    BulletinAttachment,
    BulletinAudience,
    BulletinIndicator,
    BulletinQuestion,
    BulletinTypology,
)
from portal.bulletins.views import send_attachment
from portal.extensions import db
from portal.vocabulary import Classification
from portal.organisations.models import Organisation

#: Every route here needs the bulletins:read scope to read and bulletins:write to change anything.
routes = ScopedRoutes(bp, "bulletins")


AUDIENCE_PLURALS = {"org": "orgs", "sector": "sectors", "country": "countries", "user": "users"}


def pending_change_json(raw: str | None) -> dict[str, Any] | None:
    """A published bulletin's change waiting for review, for its author organisation only:
    ``{"input": <the proposed bulletin>, "change_note", "sent_back"}`` (an extension of docs/contract.md)."""
    if not raw:
        return None
    proposal = json.loads(raw)
    return {"input": proposal["input"], "change_note": proposal["change_note"],
            "sent_back": bool(proposal.get("sent_back"))}


def bulletin_json(bulletin: Bulletin, reader: Any) -> dict[str, Any]:
    """docs/contract.md's shape of one bulletin (``feed_page`` builds the same from plain rows)."""
    audience: dict[str, list[str]] | None = None
    extra: dict[str, Any] = {}
    if policy.sees_bulletin_audience(reader, bulletin):
        audience = {AUDIENCE_PLURALS[k]: bulletin.audience_values(k) for k in AUDIENCE_KINDS}
        extra["pending_change"] = pending_change_json(bulletin.pending_change)
    return {
        "id": bulletin.id,
        "title": bulletin.title,
        "summary": bulletin.summary,
        "body_html": bulletin.body_html,
        "classification": bulletin.classification.label,
        "tlp": bulletin.tlp,
        "audience": audience,
        "indicators": [{"type": i.type, "value": i.value} for i in bulletin.indicators],
        "typologies": bulletin.typology_codes,
        "status": bulletin.status,
        "version": bulletin.version,
        "author_org": bulletin.author_org.slug,
        "published_at": iso(bulletin.published_at),
        "expires_at": iso(bulletin.expires_at),
        "attachments": [{"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": a.size,
                         "sha256": a.sha256, "url": f"/api/v1/bulletins/{bulletin.id}/attachments/{a.id}"}
                        for a in bulletin.attachments],
        **extra,
    }


def _filters(statement):
    statement, problems = filters.apply(statement, request.args)
    if problems:
        raise ApiError(400, "Some filters are invalid.", problems)
    return statement


#: The columns a feed item needs, read as plain rows: building ORM objects for fifty bulletins and
#: their children cost more than everything else a partner's poll does.
#: The classification and the two instants are read as stored (a rank; naive UTC), without their
#: types' conversion to an enum and an aware datetime for every row: ``CLASSIFICATION_LABELS`` and
#: ``iso_stored`` turn them into the answer's strings directly.
FEED_COLUMNS = (Bulletin.id, Bulletin.title, Bulletin.summary, Bulletin.body_html,
                type_coerce(Bulletin.classification, Integer), Bulletin.tlp, Bulletin.status, Bulletin.version,
                Bulletin.author_org_id, Organisation.slug, type_coerce(Bulletin.published_at, String),
                type_coerce(Bulletin.expires_at, String), Bulletin.pending_change)
CLASSIFICATION_LABELS = {int(level): level.label for level in Classification}


@functools.cache
def _feed_rows(after_cursor: bool, newest: bool) -> Select:
    """The feed's rows, newest first, for any reader (the reader's facts are parameters: see
    ``policy.bulletin_rule_facts``), ``:page_rows`` of them, before the id ``:before`` when
    ``after_cursor``. Built once per form. ``newest``: through ``policy.newest_readable_bulletin_ids``
    (a few index steps per page however little the reader may read), for a request without
    filters; else the bulletins scanned newest first with the rule as a filter, which the request's
    filters then narrow."""
    statement = select(*FEED_COLUMNS).join(Organisation, Organisation.id == Bulletin.author_org_id)
    if newest:
        page = policy.newest_readable_bulletin_ids(after_cursor).subquery("page")
        return statement.join(page, page.c.id == Bulletin.id).order_by(Bulletin.id.desc())
    statement = statement.where(policy.bulletin_readable_prepared())
    if after_cursor:
        statement = statement.where(Bulletin.id < bindparam("before", type_=BigInteger))
    return statement.order_by(Bulletin.id.desc()).limit(bindparam("page_rows", type_=Integer))


@functools.cache
def _feed_children(dialect: str) -> tuple[Select, Select]:
    """A page's indicators, typologies and attachments in one query, and the audiences of its own
    bulletins in another, each over the page's ids given as one parameter (``:ids``,
    ``statements.in_ids``). Built once per dialect.

    The children come back as *one* value: a JSON array of ``[part, bulletin, order, a, b, c, d]``
    (``part`` 0 an indicator, 1 a typology, 2 an attachment), built by the database
    (``json_group_array`` / ``json_agg``) and read with one ``orjson.loads`` — a page's few hundred
    children as rows cost more in stepping and row handling than everything else of the page."""
    def of(column: Any) -> Any:
        return statements.in_ids(column, dialect)

    def number(value: int | None) -> Any:
        return cast(null(), Integer) if value is None else literal_column(str(value), Integer)

    def text_(column: Any = None) -> Any:
        return cast(null(), String) if column is None else column

    children = union_all(
        select(number(0).label("part"), BulletinIndicator.bulletin_id, BulletinIndicator.position.label("ord"),
               BulletinIndicator.type.label("a"), BulletinIndicator.value.label("b"), number(None).label("c"),
               text_().label("d")).where(of(BulletinIndicator.bulletin_id)),
        select(number(1), BulletinTypology.bulletin_id, number(0), BulletinTypology.code, text_(), number(None),
               text_()).where(of(BulletinTypology.bulletin_id)),
        select(number(2), BulletinAttachment.bulletin_id, BulletinAttachment.id, BulletinAttachment.filename,
               BulletinAttachment.content_type, BulletinAttachment.size, BulletinAttachment.sha256)
        .where(of(BulletinAttachment.bulletin_id)),
    )
    rows = children.subquery("children")
    columns = [rows.c.part, rows.c.bulletin_id, rows.c.ord, rows.c.a, rows.c.b, rows.c.c, rows.c.d]
    if dialect == "postgresql":
        packed = func.json_agg(aggregate_order_by(func.json_build_array(*columns), rows.c.part, rows.c.ord))
    else:
        packed = func.json_group_array(func.json_array(*columns))
    return (
        select(cast(packed, Text)).select_from(rows),
        select(BulletinAudience.bulletin_id, BulletinAudience.kind, BulletinAudience.value)
        .where(of(BulletinAudience.bulletin_id)),
    )


#: A packed child's place: its part, bulletin and order (position, or attachment id).
_CHILD_ORDER = operator.itemgetter(0, 1, 2)


def feed_page(reader: Any) -> dict[str, Any]:
    """A page of the feed (the bulletins ``reader`` may read, narrowed by the request's filters) in
    ``bulletin_json``'s shape, in a constant number of queries: the rows, then each kind of child
    for the whole page."""
    limit = read_limit()
    cursor = request.args.get("cursor")
    parameters: dict[str, Any] = policy.bulletin_rule_facts(reader)
    parameters["page_rows"] = limit + 1
    if cursor:
        parameters["before"] = decode_cursor(cursor)
    scanned = _feed_rows(bool(cursor), newest=False)
    statement = _filters(scanned)  # the very same statement when the request gives no filter
    if statement is scanned:
        statement = _feed_rows(bool(cursor), newest=True)
    # Plain rows straight from the session's connection: no ORM result machinery for columns.
    execute = db.session.connection().execute
    rows = execute(statement, parameters).all()
    more, rows = len(rows) > limit, rows[:limit]
    ids = [row[0] for row in rows]
    own_org = reader.organisation_id
    own = [row[0] for row in rows if row[8] == own_org]  # policy.sees_bulletin_audience
    indicators: dict[int, list[dict[str, str]]] = {i: [] for i in ids}
    typologies: dict[int, list[str]] = {i: [] for i in ids}
    attachments: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    audiences: dict[int, dict[str, list[str]]] = {i: {k: [] for k in AUDIENCE_PLURALS.values()} for i in own}
    if ids:
        dialect = db.engine.dialect.name
        of_children, of_audiences = _feed_children(dialect)
        packed = execute(of_children, {"ids": statements.ids_value(ids, dialect)}).scalar()
        # In their order whatever order the aggregate kept: indicators by position, attachments by id.
        for part, bulletin_id, _order, a, b, c, d in sorted(orjson.loads(packed or "[]"), key=_CHILD_ORDER):
            if part == 0:
                indicators[bulletin_id].append({"type": a, "value": b})
            elif part == 1:
                typologies[bulletin_id].append(a)
            else:
                attachments[bulletin_id].append({
                    "id": _order, "filename": a, "content_type": b, "size": c, "sha256": d,
                    "url": f"/api/v1/bulletins/{bulletin_id}/attachments/{_order}"})
        if own:
            for bulletin_id, kind, value in execute(of_audiences, {"ids": statements.ids_value(own, dialect)}):
                audiences[bulletin_id][AUDIENCE_PLURALS[kind]].append(value)
    items = []
    append = items.append
    for (bulletin_id, title, summary, body_html, classification, tlp, status, version, _author, slug,
         published_at, expires_at, pending_change) in rows:
        item = {
            "id": bulletin_id, "title": title, "summary": summary, "body_html": body_html,
            "classification": CLASSIFICATION_LABELS[classification], "tlp": tlp, "audience": None,
            "indicators": indicators[bulletin_id], "typologies": sorted(typologies[bulletin_id]), "status": status,
            "version": version, "author_org": slug, "published_at": iso_stored(published_at),
            "expires_at": iso_stored(expires_at), "attachments": attachments[bulletin_id],
        }
        audience = audiences.get(bulletin_id)
        if audience is not None:
            item["audience"] = {k: sorted(v) for k, v in audience.items()}
            item["pending_change"] = pending_change_json(pending_change)
        append(item)
    return {"items": items, "next_cursor": encode_cursor(rows[-1][0]) if more and rows else None}


@routes.get("/bulletins")
@operation("Bulletins the caller may read, newest first", query=BulletinQuery, answer=BulletinPage)
def list_bulletins(query: BulletinQuery):
    user = policy.reader()
    page = feed_page(user)
    with reads.listed(Bulletin, len(page["items"]), via="api", searched=bool(request.args.get("q")),
                      filters={k: v for k, v in request.args.items() if k not in ("cursor", "q")}):
        return page


#: From a bulletin just written or read, to what can be done with it (OpenAPI links).
BULLETIN_LINKS = {name: {"bulletin_id": "$response.body#/id"} for name in (
    "get_bulletin", "amend_bulletin", "approve_bulletin", "acknowledge_bulletin", "bulletin_feedback",
    "withdraw_bulletin", "list_questions", "ask_question", "list_sightings", "report_sighting",
    "upload_attachment")}


@routes.post("/bulletins")
@operation("Write a bulletin (publisher); with publish=true it is published, or pending review when SENSITIVE "
           "or above or TLP:RED", body=BulletinInput, answer=BulletinOut, status=201, errors=(403,),
           invalid_message="The bulletin is invalid; nothing was stored.", links=BULLETIN_LINKS)
def create_bulletin(body: BulletinInput):
    user = policy.reader()
    with refusals("The bulletin is invalid; nothing was stored."):
        bulletin = service.create(given(body), user)
    db.session.commit()
    return bulletin_json(bulletin, user), 201


@routes.get("/bulletins/<int:bulletin_id>")
@operation("One bulletin", answer=BulletinOut)
def get_bulletin(bulletin_id: int):
    user = policy.reader()
    return reads.read_one(Bulletin, bulletin_id, lambda bulletin: bulletin_json(bulletin, user), via="api")


def _act(bulletin_id: int, action) -> Any:
    user = policy.reader()
    bulletin = reads.load(Bulletin, bulletin_id)
    try:
        with refusals():
            result = action(bulletin, user)
    except LookupError:
        raise ApiError(404) from None
    db.session.commit()
    return result, bulletin, user


@routes.post("/bulletins/<int:bulletin_id>/approve")
@operation("A second publisher of the author organisation, cleared for it and who changed nothing in it, "
           "approves a bulletin pending review (or a published bulletin's pending change)", answer=BulletinOut,
           errors=(409,))
def approve_bulletin(bulletin_id: int):
    _, bulletin, user = _act(bulletin_id, service.approve)
    return bulletin_json(bulletin, user)


@routes.post("/bulletins/<int:bulletin_id>/acknowledge")
@operation("The caller's organisation has read it", answer=AcknowledgementOut, errors=(409,))
def acknowledge_bulletin(bulletin_id: int):
    ack, bulletin, user = _act(bulletin_id, service.acknowledge)
    return {"bulletin": bulletin.id, "organisation": user.organisation.slug,
            "acknowledged_at": iso(ack.acknowledged_at)}


@routes.post("/bulletins/<int:bulletin_id>/feedback")
@operation("Rate it: useful, actioned or not-relevant, with a comment", body=FeedbackInput, answer=FeedbackOut,
           status=201, errors=(409,))
def bulletin_feedback(bulletin_id: int, body: FeedbackInput):
    feedback, bulletin, user = _act(bulletin_id, lambda b, u: service.give_feedback(b, u, body.rating, body.comment))
    return {"bulletin": bulletin.id, "organisation": user.organisation.slug, "rating": feedback.rating,
            "comment": feedback.comment}, 201


@routes.patch("/bulletins/<int:bulletin_id>")
@operation("Amend: a new version; change_note is required. Under the two-person rule (before or after the "
           "change) a published bulletin's change waits for review in pending_change", body=BulletinChange,
           answer=BulletinOut, errors=(409,), invalid_message="The bulletin is invalid; nothing was stored.")
def amend_bulletin(bulletin_id: int, body: BulletinChange):
    """Amend (a new version; ``change_note`` required). Extension of docs/contract.md."""
    bulletin, _, user = _act(bulletin_id, lambda b, u: service.amend(b, given(body), u))
    return bulletin_json(bulletin, user)


@routes.post("/bulletins/<int:bulletin_id>/withdraw")
@operation("Withdraw (author organisation's publishers); recipients are told, without content",
           body=WithdrawInput, answer=BulletinOut, errors=(409,))
def withdraw_bulletin(bulletin_id: int, body: WithdrawInput):
    bulletin, _, user = _act(bulletin_id, lambda b, u: service.withdraw(b, u, body.reason))
    return bulletin_json(bulletin, user)


def question_json(question) -> dict[str, Any]:
    return {"id": question.id, "asking_org": question.asking_org.slug,
            "messages": [{"org": m.author_org.slug, "body": m.body, "at": iso(m.created_at)}
                         for m in question.messages]}


@routes.get("/bulletins/<int:bulletin_id>/questions")
@operation("The private threads the caller may see (its own, or all for the author)", answer=QuestionPage)
def list_questions(bulletin_id: int):
    user = policy.reader()
    bulletin = reads.load(Bulletin, bulletin_id)
    items = [question_json(q) for q in service.questions_for(user, bulletin)]
    with reads.recorded(bulletin, "questions.read", count=len(items)):
        return {"items": items, "next_cursor": None}


@routes.post("/bulletins/<int:bulletin_id>/questions")
@operation("Ask the author privately", body=MessageInput, answer=QuestionOut, status=201, errors=(409,),
           links={"answer_question": {"bulletin_id": "$request.path.bulletin_id",
                                      "question_id": "$response.body#/id"}})
def ask_question(bulletin_id: int, body: MessageInput):
    """A recipient asks the author privately (only the two organisations see the thread)."""
    question, _, _ = _act(bulletin_id, lambda b, u: service.ask(b, u, body.body))
    return question_json(question), 201


@routes.post("/bulletins/<int:bulletin_id>/questions/<int:question_id>/messages")
@operation("Reply in a thread", body=MessageInput, answer=QuestionOut, status=201, errors=(409,))
def answer_question(bulletin_id: int, question_id: int, body: MessageInput):

    def answer(bulletin, user):
        question = db.session.get(BulletinQuestion, question_id)
        if question is None:
            raise LookupError
        service.answer(question, bulletin, user, body.body)
        return question

    question, _, _ = _act(bulletin_id, answer)
    return question_json(question), 201


@routes.get("/bulletins/<int:bulletin_id>/sightings")
@operation("Sightings the caller may see", answer=SightingPage)
def list_sightings(bulletin_id: int):
    user = policy.reader()
    bulletin = reads.load(Bulletin, bulletin_id)
    items = [{"id": s.id, "org": s.organisation.slug, "indicator": s.indicator_id, "seen_at": iso(s.seen_at),
              "context": s.context} for s in service.sightings_for(user, bulletin)]
    with reads.committed():
        return {"items": items, "next_cursor": None}


@routes.post("/bulletins/<int:bulletin_id>/sightings")
@operation("We saw this: when, which indicator, context", body=SightingInput, answer=SightingOut, status=201,
           errors=(409,))
def report_sighting(bulletin_id: int, body: SightingInput):
    """'We saw this' — when, optionally which indicator, and a short context."""
    sighting, _, _ = _act(bulletin_id, lambda b, u: service.report_sighting(b, u, given(body)))
    return {"id": sighting.id, "seen_at": iso(sighting.seen_at)}, 201


@routes.post("/bulletins/<int:bulletin_id>/attachments")
@operation("Attach a file (author organisation's publishers)", body=FileUpload, body_media="multipart/form-data",
           answer=AttachmentOut, status=201, errors=(409,),
           links={"download_attachment": {"bulletin_id": "$request.path.bulletin_id",
                                          "attachment_id": "$response.body#/id"}})
def upload_attachment(bulletin_id: int):
    """multipart/form-data with a ``file`` part; 413 when too large, 415 when not an accepted kind."""
    if request.mimetype != "multipart/form-data":
        raise ApiError(415, "Send the file as multipart/form-data, in a part named 'file'.")

    def act(bulletin, user):
        try:
            return service.attach(bulletin, user, request.files.get("file"))
        except attachments.Refused as refused:
            raise ApiError(refused.status, str(refused), {"file": [str(refused)]}) from None

    row, bulletin, _ = _act(bulletin_id, act)
    return {"id": row.id, "filename": row.filename, "content_type": row.content_type, "size": row.size,
            "sha256": row.sha256, "url": f"/api/v1/bulletins/{bulletin.id}/attachments/{row.id}"}, 201


@routes.get("/bulletins/<int:bulletin_id>/attachments/<int:attachment_id>")
@operation("Download an attachment", answer={"type": "string", "format": "binary"},
           media="*/*")
def download_attachment(bulletin_id: int, attachment_id: int):
    return send_attachment(bulletin_id, attachment_id)
