"""The messages a translator may reword: those of the repository's template (``messages.pot``),
each named by a short hash of its context and msgid, and the check that a wording keeps the
message's placeholders and markup.

A plural message (``ngettext``/``npgettext``) is reworded in every form the language's plural rule
has (its catalogue's ``Plural-Forms`` header, ``portal.translate.plural_forms``); each form is shown
with the numbers that take it."""
from __future__ import annotations

import gettext as gnu_gettext
import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

from babel.messages.pofile import read_po

from portal.i18n import gettext as _
from portal.translate import CATALOGUE_LANGUAGES, TEMPLATE, plural_forms

#: Languages whose wordings may be reviewed: every catalogue (English is the source language).
REVIEWABLE_LANGUAGES = CATALOGUE_LANGUAGES
MAX_WORDING = 4000

# %(name)s, %(num)d, %s, %%; {name}, {0}; HTML tags. A translation must keep each exactly.
_PERCENT = re.compile(r"%(?:\([^)]*\))?[#0\- +]*\d*(?:\.\d+)?[sdifrxXeEgGc%]")
_BRACES = re.compile(r"\{[^{}\s]*\}")
_TAG = re.compile(r"<[^<>]*>")


#: The numbers tried to tell which numbers take each plural form (then some millions, for French).
_SAMPLE_NUMBERS = (*range(0, 1001), 10_000, 100_000, *range(1_000_000, 6_000_001, 1_000_000), 10_000_000)


@dataclass(frozen=True)
class Message:
    key: str
    context: str
    msgid: str
    plural: str = ""  # msgid_plural; empty for a singular message

    @property
    def is_plural(self) -> bool:
        return bool(self.plural)


def message_key(context: str | None, msgid: str) -> str:
    """A stable short name for a message (its context and msgid), for URLs and ``data-msgid``."""
    return hashlib.sha256(f"{context or ''}\x04{msgid}".encode()).hexdigest()[:12]


def catalogue_key(context: str | None, msgid: str) -> str:
    """The key gettext's catalogue dictionary holds a message under."""
    return f"{context}\x04{msgid}" if context else msgid


@lru_cache(maxsize=1)
def messages() -> dict[str, Message]:
    """Every message of the template, singular and plural, by key (a plural message's key is that of
    its singular msgid, as gettext's catalogue holds it under that)."""
    found: dict[str, Message] = {}
    if not TEMPLATE.exists():
        return found
    with TEMPLATE.open("rb") as fh:
        template = read_po(fh, locale=None)
    for entry in template:
        if not entry.id:
            continue
        msgid, plural = (entry.id, "") if isinstance(entry.id, str) else (entry.id[0], entry.id[1])
        key = message_key(entry.context, msgid)
        found[key] = Message(key, entry.context or "", msgid, plural)
    return found


def find(key: str) -> Message | None:
    return messages().get(key)


@lru_cache(maxsize=16)
def plural_rule(language: str) -> tuple[int, Callable[[int], int]]:
    """(number of plural forms, the function giving a number's form) for ``language``."""
    count, expression = plural_forms(language)
    return count, gnu_gettext.c2py(expression)


@lru_cache(maxsize=16)
def plural_numbers(language: str) -> tuple[tuple[int, ...], ...]:
    """For each plural form of ``language``, the first numbers that take it (up to five: a fifth says
    that more do), to show the translator which form is which; a form no number takes has none."""
    count, rule = plural_rule(language)
    numbers: list[list[int]] = [[] for _ in range(count)]
    for n in _SAMPLE_NUMBERS:
        form = rule(n)
        if 0 <= form < count and len(numbers[form]) < 5:
            numbers[form].append(n)
    return tuple(tuple(found) for found in numbers)


def form_source(message: Message, language: str, form: int) -> str:
    """The English text a plural form translates: the singular for a form only the number one takes,
    else the plural. Its placeholders are the ones the form must keep."""
    return message.msgid if plural_numbers(language)[form] == (1,) else message.plural


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


def wording_problems(message: Message, wording: str, source: str | None = None) -> list[str]:
    """What is wrong with ``wording`` as a translation of ``message`` (empty when it may be stored);
    of a plural message's form, as a translation of ``source`` (:func:`form_source`)."""
    problems: list[str] = []
    text = wording.strip()
    source = source or message.msgid
    if not text:
        problems.append(_("Enter the wording you suggest."))
    elif len(text) > min(MAX_WORDING, 4 * len(source) + 200):
        problems.append(_("That wording is too long for this message."))
    wanted, given = placeholders(source), placeholders(text)
    missing, extra = wanted - given, given - wanted
    if text and missing:
        problems.append(_("Keep these parts exactly as they are: %(parts)s",
                          parts=" ".join(sorted(missing))))
    if text and extra:
        problems.append(_("Remove these parts, which the original does not have: %(parts)s",
                          parts=" ".join(sorted(extra))))
    return problems


def plural_problems(message: Message, language: str, forms: list[str]) -> dict[int, list[str]]:
    """What is wrong with each form of a plural wording, by form (empty when it may be stored). Each
    form keeps the placeholders of the English it translates, as a singular wording does."""
    count = plural_rule(language)[0]
    found: dict[int, list[str]] = {}
    for form in range(count):
        text = forms[form] if form < len(forms) else ""
        problems = wording_problems(message, text, form_source(message, language, form))
        if problems:
            found[form] = problems
    return found
