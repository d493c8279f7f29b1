"""Where a sign-in may send the reader afterwards: only a path of this site (``?next=``).

A small module of its own, below the views that use it (local sign-in, federated sign-in, the
default-deny gate), so that each imports it at the top.
"""
from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote, unquote, urljoin, urlsplit

#: Characters never accepted in a redirect target. Browsers drop tabs and newlines anywhere in a
#: URL, trim controls and spaces at its ends and read a backslash as a slash, so ``/\t/evil.example``
#: or ``/\\evil.example`` would take the reader to another site: such a target is refused, not repaired.
_NEVER_IN_NEXT = frozenset("\\") | frozenset(chr(c) for c in range(0x20)) | {"\x7f"}


def _dangerous(text: str) -> bool:
    return any(ch in _NEVER_IN_NEXT or ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Zs")
               for ch in text)


def safe_next(target: str | None) -> str | None:
    """``target`` if a browser resolves it to a path of this site, else None.

    Accepted: an absolute path (``/…``) without scheme or host, whose path part — even after
    percent-decoding (repeatedly) and Unicode compatibility folding — neither starts with ``//``,
    nor holds a dot segment, a backslash, a control, whitespace or a character outside ASCII.
    Refused rather than repaired: ``//evil.example``, ``/\\evil.example``, ``/%09/evil.example``,
    ``/%2F/evil.example``, ``/%5Cevil.example``, ``/／evil.example``, ``javascript:…``, ``http://…``
    and the like. Anything outside ASCII in the query is percent-encoded in the answer."""
    if not isinstance(target, str) or not target or len(target) > 2048:
        return None
    if _dangerous(target) or not target.startswith("/"):
        return None
    path = re.split(r"[?#]", target, maxsplit=1)[0]
    decoded = path
    for _round in range(4):  # %252F is %2F once decoded, and / twice
        decoded = unicodedata.normalize("NFKC", unquote(decoded))
        if not decoded.isascii() or _dangerous(decoded) or decoded.startswith("//"):
            return None
        if {".", ".."} & set(decoded.split("/")):  # /.//evil.example resolves to the path //evil.example
            return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    # What a browser does with it, as a last check: resolved against this site, it stays here.
    if urlsplit(urljoin("https://portal.invalid/", target)).netloc != "portal.invalid":
        return None
    return quote(target, safe="".join(chr(c) for c in range(0x21, 0x7f)))
