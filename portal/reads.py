"""Reading through the access policy, audited: the plumbing every feature's pages and API share.

A handler that shows, lists or exports content does four things in a fixed order: **load** what the
reader may read (anything else is answered 404, exactly as if it did not exist), **audit** the
access, **serialise** the answer (a page, JSON, XML) and **commit**, after serialising, because a
commit expires every loaded row and reading them again afterwards would cost a query each. Here is
that order, once:

- :func:`load` one readable object (or 404);
- :func:`read_one` = load, then :func:`recorded` around ``serialise(obj)``;
- :func:`recorded` (one object), :func:`listed` (a list of one kind) and :func:`audit` (any other
  entry): record the entry, run the block, commit; an error in the block commits nothing;
- :func:`committed`: just the last step (or ``.now()``, for an entry that stands whatever follows).

:data:`AUDITED` names, for each kind of content, what its audit entries say: the object type, the
action prefix, which attribute identifies it and which organisation the entry names as its owner
(``object_org``, what an org-admin's "who read our content" page filters on).

A refusal is not recorded here: the 404 is answered as for an absent object, and an API token's
refused call is recorded by ``portal.api.auth.record_unaudited_use`` like any other unaudited use.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from flask import abort
from sqlalchemy import ColumnElement
from sqlalchemy.orm import lazyload
from sqlalchemy.orm.interfaces import ORMOption

from portal import policy
from portal.audit import trail
from portal.bulletins.models import Bulletin
from portal.deportees.models import DeporteeNotification
from portal.extensions import db
from portal.ratings.models import Assessment
from portal.rfis.models import InformationRequest
from portal.submissions.models import Submission

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Audited:
    """What the audit trail records of one kind of content."""

    object_type: str  #: the entries' ``object_type``
    prefix: str  #: their actions are ``<prefix>.read``, ``<prefix>.list``, ``<prefix>.export`` …
    key: str  #: the column an address names one object by (what :func:`load`'s ``key`` matches)
    names: str  #: the attribute an entry names the object by (its ``object_id``)
    owner: str  #: the relationship to the organisation an entry names (its ``object_org``)
    list_action: str = ""  #: a list's action, when it is not ``<prefix>.list``

    def object_id(self, obj: Any) -> Any:
        return getattr(obj, self.names)

    def object_org(self, obj: Any) -> str:
        return getattr(obj, self.owner).slug


#: Each kind of content and what its entries record.
AUDITED: dict[type, Audited] = {
    Bulletin: Audited("bulletin", "bulletin", "id", "id", "author_org"),
    Submission: Audited("submission", "submission", "reference", "reference", "submitting_org"),
    DeporteeNotification: Audited("deportee_notification", "deportee_notification", "id", "id", "issuing_org"),
    InformationRequest: Audited("information_request", "rfi", "id", "reference", "requesting_org"),
    Assessment: Audited("assessment", "assessment", "id", "id", "organisation", list_action="rating.list"),
}


def without(*relationships: Any) -> tuple[ORMOption, ...]:
    """Options for :func:`load`: these collections are not loaded with the object (only if used),
    for an answer that does not show them (a goAML export needs no attachment list)."""
    return tuple(lazyload(relationship) for relationship in relationships)


# --- Loading ---------------------------------------------------------------------------------

def load(model: type[T], key: Any, *criteria: ColumnElement[bool], by: Any = None,
         options: tuple[ORMOption, ...] = (), reader: Any = None) -> T:
    """The ``model`` object whose key (``AUDITED[model].key``, or the column ``by``) is ``key`` and
    that also meets ``criteria``, if the reader (default: this request's) may read it; otherwise
    404, answered exactly as if it did not exist. One query."""
    column = by if by is not None else getattr(model, AUDITED[model].key)
    statement = policy.readable(model, reader or policy.reader()).where(column == key, *criteria)
    found = db.session.scalar(statement.options(*options) if options else statement)
    if found is None:
        abort(404)
    return found


def read_one(model: type[T], key: Any, serialise: Callable[[T], R], *criteria: ColumnElement[bool],
             action: str = "read", by: Any = None, options: tuple[ORMOption, ...] = (), **details: Any) -> R:
    """Load a readable object, record the read (``<prefix>.<action>``, with ``details``), serialise
    it and commit: ``serialise(obj)``'s result, or 404."""
    found = load(model, key, *criteria, by=by, options=options)
    with recorded(found, action, **details):
        return serialise(found)


# --- Recording -------------------------------------------------------------------------------

class Commit(contextlib.AbstractContextManager):
    """Commit when the ``with`` block ends; an error in it rolls back (the audit entries queued with
    it go too) and propagates. :meth:`now` commits at once, for an entry that must stand whatever
    the answer (a poll that found nothing is still a poll)."""

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: Any) -> None:
        if error is None:
            db.session.commit()
        else:
            db.session.rollback()

    @staticmethod
    def now() -> None:
        db.session.commit()


def committed() -> Commit:
    """Commit when the block ends (see :class:`Commit`)."""
    return Commit()


def audit(action: str, object_type: str = "", object_id: Any = "", object_org: str = "", **details: Any) -> Commit:
    """Record an audit entry (``portal.audit.trail.record``), run the block, commit."""
    trail.record(action, object_type, object_id, object_org, **details)
    return Commit()


def recorded(obj: Any, action: str = "read", **details: Any) -> Commit:
    """Record ``<prefix>.<action>`` of one object as :data:`AUDITED` says, run the block, commit."""
    kind = AUDITED[type(obj)]
    return audit(f"{kind.prefix}.{action}", kind.object_type, kind.object_id(obj), kind.object_org(obj), **details)


def listed(model: type, count: int | None = None, **details: Any) -> Commit:
    """Record one access to a list of ``model`` (``count`` items shown, and ``details``: filters,
    never search terms), run the block, commit."""
    kind = AUDITED[model]
    if count is not None:
        details["count"] = count
    return audit(kind.list_action or f"{kind.prefix}.list", kind.object_type, **details)
