"""Files attached to content (bulletins, reports, rating evidence), and the rules they are kept by.

Files are named by a random key, never by what the uploader called them. The kind is decided from
the file's first bytes, not its name; size and emptiness are checked while the upload is read, and a
refused upload leaves nothing behind. Files are served only after the access policy allowed the
content they belong to, as downloads, never rendered by the browser (:mod:`portal.downloads`).

Every feature's attachment row (a bulletin's file, a report's, a rating's evidence) is an
:class:`AttachedFile`: the same columns, kept by :meth:`AttachedFile.keep`, served by
:func:`portal.downloads.download`.

Where the bytes are kept is ``attachment_storage``: ``"database"`` (the default; :mod:`portal.file_store`,
so every host that shares the database serves every file) or ``"directory"`` (files under
``attachments_dir``, at paths the portal chooses, every resolved path checked to lie inside the store,
as SecureDrop's store does; with several hosts it must be a directory they all share).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Iterator

from sqlalchemy import Integer, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from portal import file_store
from portal.config import settings
from portal.extensions import db
from portal.types import UTCDateTime, utcnow

KEY_PATTERN = re.compile(r"[A-Za-z0-9_-]{20,64}")
READ_SIZE = 1024 * 1024

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


class AttachedFile:
    """The columns of a file attached to something (mixed into each feature's attachment model).

    ``owner`` names the column that points at what the file is attached to: a download is refused
    (404) unless that column holds the id of the object the access policy allowed.
    """

    owner: ClassVar[str]

    storage_key: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(150))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    @classmethod
    def keep(cls, upload: Any, **columns: Any) -> Any:
        """Store an upload (a werkzeug ``FileStorage``, or ``(stream, filename)``) and return a new row
        for it with ``columns`` (its owner, who uploaded it); raises :class:`Refused` (400/413/415)."""
        stream, filename = upload if isinstance(upload, tuple) else (upload.stream, upload.filename)
        return cls.of(store(stream, filename), **columns)

    @classmethod
    def of(cls, stored: Stored, **columns: Any) -> Any:
        """A new row for a file already kept by :func:`store`."""
        return cls(storage_key=stored.key, filename=stored.filename, content_type=stored.content_type,
                   size=stored.size, sha256=stored.sha256, **columns)

    def attached_to(self, owner: Any) -> bool:
        return getattr(self, self.owner) == owner.id


def in_database() -> bool:
    """Whether attachments' bytes are kept in the database (else under ``attachments_dir``)."""
    return settings().attachment_storage == "database"


def checked_key(key: str) -> str:
    """A key as the store makes them; anything else is no such file (404)."""
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        raise Refused(404, "no such file")
    return key


def root() -> Path:
    path = Path(settings().attachments_dir).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def path_for(key: str) -> Path:
    """The file for a key under ``attachments_dir``, refusing anything that would resolve outside it."""
    checked_key(key)
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
    allowed = settings().attachment_types
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


def store(stream: Any, filename: str) -> Stored:
    """Keep an upload; refuse what is of the wrong kind (415), empty (400) or too large (413).

    In the database, the file is written in the caller's transaction (it is kept when the caller
    commits); in a directory, at once. Either way a refusal leaves nothing behind.
    """
    conf = settings()
    name = safe_filename(filename or "")
    head = stream.read(4096)
    kind = kind_of(name, head)
    if kind is None:
        raise Refused(415, "This kind of file is not accepted: " + ", ".join(conf.attachment_types) + ".")
    if not head:
        raise Refused(400, "The file is empty.")
    key = secrets.token_urlsafe(24)
    blocks = _limited(head, stream, conf.attachment_max_bytes)
    if in_database():
        size, sha256 = file_store.write(key, blocks)
    else:
        size, sha256 = _write_file(key, blocks)
    return Stored(key=key, filename=name, content_type=KINDS[kind][0], size=size, sha256=sha256)


def _limited(head: bytes, stream: Any, limit: int) -> Iterator[bytes]:
    """The upload block by block, refusing (413) as soon as it passes ``limit`` bytes."""
    size, block = 0, head
    while block:
        size += len(block)
        if size > limit:
            raise Refused(413, f"The file is larger than {limit // (1024 * 1024)} MiB.")
        yield block
        block = stream.read(READ_SIZE)


def _write_file(key: str, blocks: Iterator[bytes]) -> tuple[int, str]:
    """Write under ``attachments_dir``: into a temporary file, renamed into place once complete."""
    target = path_for(key)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(".part")
    digest, size = hashlib.sha256(), 0
    try:
        with open(temporary, "xb") as out:
            for block in blocks:
                size += len(block)
                digest.update(block)
                out.write(block)
        os.replace(temporary, target)
    finally:
        if temporary.exists():
            temporary.unlink()
    return size, digest.hexdigest()


def discard(key: str) -> None:
    """Remove a stored file (in the database: in the caller's transaction). An unknown key is no error."""
    try:
        checked_key(key)
        if in_database():
            file_store.remove_quietly(key)  # callers also discard while handling a failure
        else:
            path_for(key).unlink(missing_ok=True)
    except Refused:
        pass


@dataclass
class Imported:
    """What :func:`import_directory` did, file by file key."""

    copied: list[str]
    already: list[str]
    missing: list[str]
    damaged: list[str]


def referenced() -> dict[str, str]:
    """Every stored file an attachment row refers to (any table with a ``storage_key``), with its SHA-256."""
    keys: dict[str, str] = {}
    for table in db.metadata.sorted_tables:
        if "storage_key" in table.c and "sha256" in table.c:
            keys.update(db.session.execute(select(table.c.storage_key, table.c.sha256)).tuples().all())
    return keys


def import_directory() -> Imported:
    """Copy the files attachments refer to from ``attachments_dir`` into the database store.

    One commit per file; a file already in the database is left as it is, so running this again (or
    on another host at the same time) copies nothing twice. A file whose SHA-256 differs from its
    attachment's is not copied. Files no attachment refers to (left by failed uploads) stay behind.
    """
    done = Imported([], [], [], [])
    for key, expected in sorted(referenced().items()):
        if file_store.exists(key):
            done.already.append(key)
            continue
        try:
            path = path_for(key)
        except Refused:
            done.missing.append(key)
            continue
        if not path.is_file():
            done.missing.append(key)
            continue
        try:
            with open(path, "rb") as source:
                modified = dt.datetime.fromtimestamp(os.fstat(source.fileno()).st_mtime, dt.timezone.utc)
                _size, sha256 = file_store.write(key, iter(lambda: source.read(READ_SIZE), b""),
                                                 created_at=modified)
            if sha256 != expected:
                db.session.rollback()
                done.damaged.append(key)
                continue
            db.session.commit()
        except IntegrityError:  # another host copied it meanwhile
            db.session.rollback()
            done.already.append(key)
            continue
        done.copied.append(key)
    return done
