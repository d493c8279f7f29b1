"""Untrusted rich text, made safe in bounded time: Markdown or HTML in, allowlisted HTML out.

No scripts, styles, event handlers, frames or forms; links only to http(s) and mailto (never
``javascript:`` or ``data:``), always with ``rel="noopener noreferrer"``. Used for everything a
person writes that is shown as HTML.

Every step is linear in the size of its input, whatever the input (see README, "Bounded work"):

1. HTML or Markdown? One regular expression that cannot backtrack across a ``<``.
2. Markdown is rendered by cmark-gfm (through cmarkgfm: GitHub's C implementation of CommonMark
   with tables and autolinks) in its safe mode, which leaves raw HTML out: HTML inside Markdown
   gains nothing. Chosen by measurement: markdown-it-py took 5 s and grew faster than linearly on
   tables, Python-Markdown minutes on a run of ``[``.
3. :func:`_normalise`, a one-pass tokenizer written for this, keeps only allowlisted tags and
   re-emits them well nested: each start tag has its end tag, inline elements never hold blocks,
   and nesting stops at :data:`MAX_DEPTH`. HTML parsers are quadratic on deep or misnested input
   (each paragraph re-opens every formatting element left open, the "adoption agency"); after
   this step there is nothing for them to repair. It also turns bare http(s) addresses into links.
4. nh3 (ammonia, on the html5ever parser) sanitises the result against the same allowlist, so
   safety never rests on step 3: whatever it misreads, nh3 still decides what is allowed.
"""
from __future__ import annotations

import re

import cmarkgfm
import nh3
from cmarkgfm.cmark import Options

ALLOWED_TAGS = frozenset({
    "p", "br", "strong", "b", "em", "i", "u", "s", "blockquote", "code", "pre", "ul", "ol", "li",
    "h2", "h3", "h4", "a", "table", "thead", "tbody", "tr", "th", "td", "hr",
})
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"scope"}, "td": {"colspan", "rowspan"}}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})

#: Deepest nesting of elements kept; deeper start tags are dropped (their text is kept). Real
#: bulletins use about 8 (a link in a bold cell of a table in a list item).
MAX_DEPTH = 32

#: Elements whose content is code, not prose: dropped whole (content and all).
_CODE_ELEMENTS = frozenset({"script", "style", "template", "noscript", "iframe", "noembed", "noframes", "xmp",
                            "textarea", "title", "plaintext"})
_CLOSERS = {name: re.compile("</" + name, re.IGNORECASE) for name in _CODE_ELEMENTS}
_INLINE = frozenset({"strong", "b", "em", "i", "u", "s", "code", "a"})
#: Blocks that hold only inline content: any block start closes them.
_TEXT_BLOCKS = frozenset({"p", "h2", "h3", "h4"})
_VOID = frozenset({"br", "hr"})

#: Does the text hold a tag (a name, then a space, ``/`` or ``>``; so ``<https://…>`` is a Markdown
#: autolink, not a tag)? No part can match a ``<``, so each attempt stops at the next one: linear.
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:[\s/][^<>]*)?>")

#: One token: a comment, a tag (quoted attribute values may hold ``<`` and ``>``), or other markup
#: (doctype, processing instruction). Every branch is possessive in effect: nothing after the
#: repetition can fail, so nothing backtracks.
_TOKEN = re.compile(r"""
    <!--.*?(?:-->|\Z)
  | <(?P<end>/?)(?P<name>[A-Za-z][A-Za-z0-9]*)(?P<attrs>(?:[^<>"']|"[^"]*"|'[^']*')*)>?
  | <[!?/][^<>]*>?
""", re.DOTALL | re.VERBOSE)
_ATTRIBUTE = re.compile(r"""([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")
#: An ``&`` that does not start a character reference (these are escaped; references are kept).
_BARE_AMPERSAND = re.compile(r"&(?!(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});)")
_ADDRESS = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)

#: Lone surrogates (JSON can carry them; UTF-8 cannot): each becomes U+FFFD before any parser sees it.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape(text: str) -> str:
    """Text or an attribute value, escaped; character references are left for the parser to read."""
    return _BARE_AMPERSAND.sub("&amp;", text).replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


#: Text goes to nh3 in pieces of at most this many characters, each ending before an ``&``; an
#: attribute value or a web address longer than this is left out (as an attribute) or as text.
_PIECE = 2048


def _text(raw: str) -> str:
    """Text, escaped, with an empty comment between pieces of at most :data:`_PIECE` characters.

    html5ever appends each character reference to its text node at a cost that grows with the
    node: 200,000 characters of ``&x;`` took 106 ms where 50,000 took 10. Short nodes keep it
    linear; nh3 drops the comments, so the text comes out whole.
    """
    if len(raw) <= _PIECE:
        return _escape(raw)
    pieces, start, length = [], 0, len(raw)
    while start < length:
        end = min(start + _PIECE, length)
        if end < length:  # never cut a character reference (at most 33 characters) in two
            ampersand = raw.rfind("&", end - 40, end)
            if ampersand > start:
                end = ampersand
        pieces.append(_escape(raw[start:end]))
        start = end
    return "<!---->".join(pieces)


def _trim(address: str) -> str:
    """An address without the punctuation that ends the sentence around it (a ``)`` only if unopened)."""
    opened, closed, end = address.count("("), address.count(")"), len(address)
    while end and address[end - 1] in ".,;:!?)]}":
        if address[end - 1] == ")":
            if closed <= opened:
                break
            closed -= 1
        end -= 1
    return address[:end]


def _linkify(text: str) -> str:
    """Escaped text with bare http(s) addresses as links (trailing punctuation left outside)."""
    out: list[str] = []
    last = 0
    for match in _ADDRESS.finditer(text):
        address = _trim(match.group())
        if not 10 <= len(address) <= _PIECE:  # next to nothing, or longer than any real address
            continue
        end = match.start() + len(address)
        out.append(_text(text[last:match.start()]))
        out.append(f'<a href="{_escape(address)}">{_text(address)}</a>')
        last = end
    out.append(_text(text[last:]))
    return "".join(out)


def _attributes(tag: str, raw: str) -> str:
    allowed = ALLOWED_ATTRIBUTES.get(tag)
    if not allowed or not raw:
        return ""
    kept: dict[str, str] = {}
    for match in _ATTRIBUTE.finditer(raw):
        name = match.group(1).lower()
        if name in allowed and name not in kept:  # as browsers do, the first of two wins
            value = next((v for v in match.group(2, 3, 4) if v is not None), "")
            if len(value) <= _PIECE:  # no real address or title is longer; html5ever is not linear there
                kept[name] = value
    return "".join(f' {name}="{_escape(value)}"' for name, value in kept.items())


def _normalise(html: str) -> str:
    """Allowlisted tags only, well nested, at most :data:`MAX_DEPTH` deep; text escaped. Linear."""
    out: list[str] = []
    stack: list[str] = []
    position, length = 0, len(html)

    def close_to(depth: int) -> None:
        while len(stack) > depth:
            out.append(f"</{stack.pop()}>")

    def close_inline() -> None:
        while stack and (stack[-1] in _INLINE or stack[-1] in _TEXT_BLOCKS):
            out.append(f"</{stack.pop()}>")

    def text(segment: str) -> None:
        if not segment:
            return
        if "a" in stack or "pre" in stack or "code" in stack:
            out.append(_text(segment))
        else:
            out.append(_linkify(segment))

    while position < length:
        match = _TOKEN.search(html, position)
        if match is None:
            text(html[position:])
            break
        text(html[position:match.start()])
        position = match.end()
        name = (match.group("name") or "").lower()
        if not name:
            continue  # a comment, doctype or processing instruction: dropped
        if match.group("end"):
            if name in stack:
                close_to(len(stack) - 1 - stack[::-1].index(name))
            continue
        if name in _CODE_ELEMENTS:
            closing = _CLOSERS[name].search(html, position) if name != "plaintext" else None
            if closing is None:
                break  # unclosed: the rest is its content
            after = html.find(">", closing.end())
            position = length if after < 0 else after + 1
            continue
        if name not in ALLOWED_TAGS:
            continue  # the tag goes, its content stays
        if name in _INLINE or name == "br":
            if name == "a" and "a" in stack:  # no link inside a link
                close_to(stack.index("a"))
        else:
            close_inline()
            if name == "li" and stack and stack[-1] == "li":
                close_to(len(stack) - 1)
            elif name in ("td", "th", "tr", "thead", "tbody"):
                cells = {"td", "th"} if name in ("td", "th") else \
                    {"td", "th", "tr"} if name == "tr" else {"td", "th", "tr", "thead", "tbody"}
                while stack and stack[-1] in cells:
                    out.append(f"</{stack.pop()}>")
        if name in _VOID:
            out.append(f"<{name}>")
            continue
        if len(stack) >= MAX_DEPTH:
            continue
        stack.append(name)
        out.append(f"<{name}{_attributes(name, match.group('attrs'))}>")
    close_to(0)
    return "".join(out)


def looks_like_html(text: str) -> bool:
    """Whether ``text`` holds a tag (then it is HTML; else Markdown, which plain text is too)."""
    return _TAG.search(text) is not None


def render_markdown(text: str) -> str:
    """Markdown (CommonMark with GitHub's tables and autolinks) as HTML; raw HTML in it is left out."""
    return cmarkgfm.github_flavored_markdown_to_html(text, options=Options.CMARK_OPT_DEFAULT)


def sanitise_html(html: str) -> str:
    """Any HTML, reduced to the allowlist, in time linear in its length."""
    return nh3.clean(_normalise(html), tags=set(ALLOWED_TAGS),
                     attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
                     url_schemes=set(ALLOWED_PROTOCOLS), link_rel="noopener noreferrer", strip_comments=True,
                     clean_content_tags={"script", "style"})


def clean_html(text: str) -> str:
    """Safe HTML from what a person wrote: HTML, or Markdown (plain text is Markdown too).

    Markdown is rendered first; either way the result then goes through the same allowlist, so
    raw HTML inside Markdown gains nothing.
    """
    text = _SURROGATE.sub("\ufffd", text)
    return sanitise_html(text if looks_like_html(text) else render_markdown(text))
