"""Untrusted rich text, made safe: bleach with a strict allowlist.

No scripts, styles, event handlers, frames or forms; links only to http(s) and mailto (never
``javascript:`` or ``data:``), always with ``rel="noopener noreferrer"``. Used for everything a
person writes that is shown as HTML.
"""
from __future__ import annotations

import re

import bleach
import markdown
from bleach.linkifier import Linker

ALLOWED_TAGS = frozenset({
    "p", "br", "strong", "b", "em", "i", "u", "s", "blockquote", "code", "pre", "ul", "ol", "li",
    "h2", "h3", "h4", "a", "table", "thead", "tbody", "tr", "th", "td", "hr",
})
ALLOWED_ATTRIBUTES = {"a": ["href", "title"], "th": ["scope"], "td": ["colspan", "rowspan"]}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})

_cleaner = bleach.Cleaner(tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, protocols=ALLOWED_PROTOCOLS,
                          strip=True, strip_comments=True)


def _rel(attrs: dict, new: bool = False) -> dict:
    attrs[(None, "rel")] = "noopener noreferrer"
    return attrs


_linker = Linker(callbacks=[_rel], skip_tags={"pre", "code"}, parse_email=False)


#: Elements whose content is code, not prose: dropped whole (bleach would keep their text).
_CODE_ELEMENTS = re.compile(r"<(script|style|template|noscript)\b[^>]*>.*?(</\1\s*>|$)", re.IGNORECASE | re.DOTALL)


_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^>]*>")


def clean_html(text: str) -> str:
    """Safe HTML from what a person wrote: HTML, or Markdown (plain text is Markdown too).

    Markdown is rendered first; either way the result then goes through the same allowlist, so
    raw HTML inside Markdown gains nothing.
    """
    text = _CODE_ELEMENTS.sub("", text)
    if not _TAG.search(text):
        text = markdown.markdown(text, extensions=["tables", "sane_lists"], output_format="html")
    return _linker.linkify(_cleaner.clean(text))
