"""Statements of the hot path, built once.

SQLAlchemy caches a statement's compiled SQL, but only after building the statement (a tree of
Python objects) and computing its cache key by walking that tree; for the few statements every
API call runs, that construction cost more than the query itself. Each statement here is built
on first use, with bind parameters for everything that varies between requests, and then reused:
its cache key is memoised on the object and its SQL is compiled once per engine.

Nothing here decides anything: the token check stays in ``portal/api/auth.py``, the access rule in
``portal/policy.py`` (``bulletin_readable_prepared``), the audit entry's contents and HMAC in
``portal/audit/trail.py``.
"""
from __future__ import annotations

import functools
import json
from typing import Any

from sqlalchemy import ColumnElement, Insert, Integer, Select, String, any_, bindparam, func, insert, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import joinedload

from portal.accounts.models import ApiToken, User
from portal.audit.models import AuditEntry


@functools.cache
def token_with_reader() -> Select:
    """The API token with the hash ``:token_hash``, its user, the user's organisation and roles:
    one query (the organisation joins through ``User.organisation``'s eager load)."""
    return (select(ApiToken).where(ApiToken.token_hash == bindparam("token_hash"))
            .options(joinedload(ApiToken.user).joinedload(User.role_rows)))


@functools.cache
def audit_entry_insert() -> Insert:
    """``INSERT`` of one audit entry, its values given as the execution's parameters (every column
    of ``trail.record``'s entry)."""
    return insert(AuditEntry.__table__)


def in_ids(column: Any, dialect: str, name: str = "ids") -> ColumnElement[bool]:
    """``column IN`` a list of integers given as *one* bind parameter ``:name`` (see ``ids_value``).

    An expanding ``IN`` renders one placeholder per value on every execution — for a page of fifty
    that post-compilation cost more than the query. PostgreSQL takes an array (``= ANY``, an index
    probe per value); SQLite a JSON array read by ``json_each``."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=postgresql.ARRAY(Integer)))
    return column.in_(select(func.json_each(bindparam(name, type_=String)).table_valued("value").c.value))


def ids_value(ids: list[int], dialect: str) -> Any:
    """The value of ``in_ids``'s parameter for ``ids`` on ``dialect``."""
    return list(ids) if dialect == "postgresql" else json.dumps([int(i) for i in ids])
