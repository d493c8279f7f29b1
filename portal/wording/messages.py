"""The messages a translator may reword: those of the repository's template (``messages.pot``),
each named by a short hash of its context and msgid, and the check that a wording keeps the
message's placeholders and markup."""
from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from babel.messages.pofile import read_po

from portal.i18n import gettext as _
from portal.translate import CATALOGUE_LANGUAGES, TEMPLATE

#: Languages whose wordings may be reviewed: every catalogue (English is the source language).
REVIEWABLE_LANGUAGES = CATALOGUE_LANGUAGES
MAX_WORDING = 4000

# %(name)s, %(num)d, %s, %%; {name}, {0}; HTML tags. A translation must keep each exactly.
_PERCENT = re.compile(r"%(?:\([^)]*\))?[#0\- +]*\d*(?:\.\d+)?[sdifrxXeEgGc%]")
_BRACES = re.compile(r"\{[^{}\s]*\}")
_TAG = re.compile(r"<[^<>]*>")


@dataclass(frozen=True)
class Message:
    key: str
    context: str
    msgid: str


def message_key(context: str | None, msgid: str) -> str:
    """A stable short name for a message (its context and msgid), for URLs and ``data-msgid``."""
    return hashlib.sha256(f"{context or ''}\x04{msgid}".encode()).hexdigest()[:12]


def catalogue_key(context: str | None, msgid: str) -> str:
    """The key gettext's catalogue dictionary holds a message under."""
    return f"{context}\x04{msgid}" if context else msgid


@lru_cache(maxsize=1)
def messages() -> dict[str, Message]:
    """Every singular message of the template, by key. Plural messages are not reviewable here yet."""
    found: dict[str, Message] = {}
    if not TEMPLATE.exists():
        return found
    with TEMPLATE.open("rb") as fh:
        template = read_po(fh, locale=None)
    for entry in template:
        if not entry.id or not isinstance(entry.id, str):
            continue
        key = message_key(entry.context, entry.id)
        found[key] = Message(key, entry.context or "", entry.id)
    return found


def find(key: str) -> Message | None:
    return messages().get(key)


def placeholders(text: str) -> Counter[str]:
    """The parts of a message a translation must carry unchanged: format placeholders and tags."""
    found: Counter[str] = Counter(_PERCENT.findall(text))
    # A lone "%" breaks the formatting that templates always apply to a translation.
    found["%"] = _PERCENT.sub("", text).count("%")
    found.update(_BRACES.findall(text))
    found.update(_TAG.findall(text))
    # A lone angle bracket would start markup of its own (translations are rendered as HTML).
    found.update({"<": text.count("<"), ">": text.count(">")})
    return +found


def wording_problems(message: Message, wording: str) -> list[str]:
    """What is wrong with ``wording`` as a translation of ``message`` (empty when it may be stored)."""
    problems: list[str] = []
    text = wording.strip()
    if not text:
        problems.append(_("Enter the wording you suggest."))
    elif len(text) > min(MAX_WORDING, 4 * len(message.msgid) + 200):
        problems.append(_("That wording is too long for this message."))
    wanted, given = placeholders(message.msgid), placeholders(text)
    missing, extra = wanted - given, given - wanted
    if text and missing:
        problems.append(_("Keep these parts exactly as they are: %(parts)s",
                          parts=" ".join(sorted(missing))))
    if text and extra:
        problems.append(_("Remove these parts, which the original does not have: %(parts)s",
                          parts=" ".join(sorted(extra))))
    return problems
