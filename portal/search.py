"""Full-text search over bulletins: SQLite FTS5, or PostgreSQL's tsvector with a GIN index.

The index lives beside the ``bulletins`` table (an FTS5 table kept in step by triggers on SQLite;
a generated ``search_vector`` column on PostgreSQL), so bulk loads and every code path are indexed
alike. Searching only narrows a query that already carries the access policy, so results and
counts never reveal a bulletin the reader may not read.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Any

from sqlalchemy import ColumnElement, func, literal_column, select, text

from portal.bulletins.models import Bulletin
from portal.extensions import db

#: Objects in the database that the models do not describe (Alembic's comparison skips them).
UNMODELLED = {"bulletins_fts", "bulletins_fts_data", "bulletins_fts_idx", "bulletins_fts_docsize",
              "bulletins_fts_config", "bulletins_fts_content"}
SEARCH_COLUMN = "search_vector"
WORD = re.compile(r"\w+", re.UNICODE)
#: A query's size limit (longer ones are refused with a 400), and what is kept of it: the first
#: MAX_TERMS words, each cut to MAX_TERM_LENGTH characters (still matched as a prefix). The work a
#: search does then depends on the index alone, never on what was typed.
MAX_QUERY_LENGTH, MAX_TERMS, MAX_TERM_LENGTH = 500, 20, 64


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """For Alembic: leave the search machinery out of model comparisons."""
    if type_ == "table" and name in UNMODELLED:
        return False
    if type_ == "column" and name == SEARCH_COLUMN:
        return False
    if type_ == "index" and name == "ix_bulletins_search_vector":
        return False
    return True


def words(query: str) -> list[str]:
    """The query's words, lower-cased and without accents (as both indexes store them)."""
    query = query[:MAX_QUERY_LENGTH]
    folded = "".join(ch for ch in unicodedata.normalize("NFKD", query.lower()) if not unicodedata.combining(ch))
    return [term[:MAX_TERM_LENGTH] for term in WORD.findall(folded)[:MAX_TERMS]]


def bulletin_matches(query: str) -> ColumnElement[bool] | None:
    """A criterion for bulletins matching every word of ``query`` (None when it has no words)."""
    terms = words(query)
    if not terms:
        return None
    if db.engine.dialect.name == "postgresql":
        # Terms are \w+ only, so this tsquery has no operators but ours: every word, as a prefix.
        tsquery = func.to_tsquery("simple", " & ".join(f"{term}:*" for term in terms))
        return literal_column(f"bulletins.{SEARCH_COLUMN}").op("@@")(tsquery)
    # FTS5: each word quoted (no operators from user input), prefix-matched, all required.
    expression = " ".join('"' + term.replace('"', "") + '"*' for term in terms)
    matching = select(literal_column("rowid")).select_from(text("bulletins_fts")).where(
        text("bulletins_fts MATCH :fts_query").bindparams(fts_query=expression))
    return Bulletin.id.in_(matching)
