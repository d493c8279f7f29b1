"""Files attached to content: kept outside the database, at paths the portal chooses and contains.

Files are named by a random key, never by what the uploader called them, and every resolved path
is checked to lie inside the store (as SecureDrop's store does). The kind is decided from the
file's first bytes, not its name. Files are served only after the access policy allowed the
content they belong to, as downloads, never rendered by the browser.
"""
from __future__ import annotations

import hashlib
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

#: kind → (MIME type, test on the first bytes)
KINDS: dict[str, tuple[str, object]] = {
    "pdf": ("application/pdf", lambda head: head.startswith(b"%PDF-")),
    "png": ("image/png", lambda head: head.startswith(b"\x89PNG\r\n\x1a\n")),
    "jpeg": ("image/jpeg", lambda head: head.startswith(b"\xff\xd8\xff")),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             lambda head: head.startswith(b"PK\x03\x04")),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             lambda head: head.startswith(b"PK\x03\x04")),
    "csv": ("text/csv", None),
    "txt": ("text/plain", None),
}


class Refused(ValueError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Stored:
    key: str
    filename: str
    content_type: str
    size: int
    sha256: str


def root() -> Path:
    path = Path(current_app.extensions["portal_settings"].attachments_dir).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def path_for(key: str) -> Path:
    """The file for a key, refusing anything that would resolve outside the store."""
    if not re.fullmatch(r"[A-Za-z0-9_-]{20,64}", key):
        raise Refused(404, "no such file")
    base = root()
    path = (base / key[:2] / key).resolve()
    if base not in path.parents:
        raise Refused(404, "no such file")
    return path


def safe_filename(name: str) -> str:
    name = unicodedata.normalize("NFKC", os.path.basename(name.replace("\\", "/")))
    name = re.sub(r"[^\w.\- ()]", "_", name).strip(" .")
    return (name or "attachment")[:150]


def kind_of(filename: str, head: bytes) -> str | None:
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    extension = {"jpg": "jpeg"}.get(extension, extension)
    allowed = current_app.extensions["portal_settings"].attachment_types
    if extension not in allowed or extension not in KINDS:
        return None
    _, test = KINDS[extension]
    if test is None:  # text: must decode as UTF-8 and hold no NUL bytes
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # a character cut at the end of the sample is fine
                return None
        return extension if b"\x00" not in head else None
    return extension if test(head) else None  # type: ignore[operator]


def store(stream, filename: str) -> Stored:
    """Write an upload into the store; refuse what is too large (413) or of the wrong kind (415)."""
    limit = current_app.extensions["portal_settings"].attachment_max_bytes
    name = safe_filename(filename or "")
    head = stream.read(4096)
    kind = kind_of(name, head)
    if kind is None:
        raise Refused(415, "This kind of file is not accepted: " +
                      ", ".join(current_app.extensions["portal_settings"].attachment_types) + ".")
    key = secrets.token_urlsafe(24)
    target = path_for(key)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(".part")
    digest, size = hashlib.sha256(), 0
    try:
        with open(temporary, "xb") as out:
            chunk = head
            while chunk:
                size += len(chunk)
                if size > limit:
                    raise Refused(413, f"The file is larger than {limit // (1024 * 1024)} MiB.")
                digest.update(chunk)
                out.write(chunk)
                chunk = stream.read(1024 * 1024)
        if size == 0:
            raise Refused(400, "The file is empty.")
        os.replace(temporary, target)
    finally:
        if temporary.exists():
            temporary.unlink()
    return Stored(key=key, filename=name, content_type=KINDS[kind][0], size=size, sha256=digest.hexdigest())


def discard(key: str) -> None:
    try:
        path_for(key).unlink(missing_ok=True)
    except Refused:
        pass
