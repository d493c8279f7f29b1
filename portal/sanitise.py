"""Untrusted rich text, made safe: bleach with a strict allowlist.

No scripts, styles, event handlers, frames or forms; links only to http(s) and mailto (never
``javascript:`` or ``data:``), always with ``rel="noopener noreferrer"``. Used for everything a
person writes that is shown as HTML.
"""
from __future__ import annotations

import re

import bleach
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


def clean_html(html: str) -> str:
    """Safe HTML from untrusted HTML (or plain text, whose line breaks become paragraphs)."""
    html = _CODE_ELEMENTS.sub("", html)
    if "<" not in html:
        paragraphs = [p.strip() for p in html.replace("\r\n", "\n").split("\n\n") if p.strip()]
        html = "".join(f"<p>{bleach.clean(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return _linker.linkify(_cleaner.clean(html))
