"""Attachments' bytes kept in the database, so that every host sharing it serves every file.

A file is one row of ``stored_files`` (its key, size, SHA-256) and its bytes in rows of
``stored_file_chunks`` of 1 MiB each (PostgreSQL ``bytea``, SQLite blob). It is written in the
caller's transaction while the upload is read, one chunk in memory at a time, so it is committed with
the row that refers to it and vanishes if that transaction rolls back. It is read back one chunk at a
time, each over its own short-lived connection: a download streams after the request's session has
closed, and holds no connection while a slow client reads.

:mod:`portal.attachments` decides what is accepted and which store keeps it; this module only keeps.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
from typing import Iterable, Iterator

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.types import UTCDateTime, utcnow

CHUNK_SIZE = 1024 * 1024
log = logging.getLogger(__name__)


class StoredFile(db.Model):
    """A file's identity: the random key attachment rows hold as ``storage_key``."""

    __tablename__ = "stored_files"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class StoredFileChunk(db.Model):
    """Bytes ``number × CHUNK_SIZE`` onwards of a file (every chunk but the last is full)."""

    __tablename__ = "stored_file_chunks"

    file_key: Mapped[str] = mapped_column(ForeignKey("stored_files.key", ondelete="CASCADE"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)


_files = StoredFile.__table__
_chunks = StoredFileChunk.__table__


def write(key: str, blocks: Iterable[bytes], created_at: dt.datetime | None = None) -> tuple[int, str]:
    """Keep ``blocks`` under ``key`` in the session's transaction; return its size and SHA-256.

    Core statements, not ORM objects, so no chunk stays in the session. Whatever interrupts the
    blocks (a refusal raised by the iterable, an error) leaves no row behind.
    """
    digest, size, number, started = hashlib.sha256(), 0, 0, False
    pending = bytearray()

    def begin() -> None:
        nonlocal started
        if not started:  # the file's row first: its chunks refer to it
            db.session.execute(insert(_files).values(key=key, size=0, sha256="", created_at=created_at or utcnow()))
            started = True

    def flush(data: bytes) -> None:
        nonlocal number
        begin()
        db.session.execute(insert(_chunks).values(file_key=key, number=number, data=data))
        number += 1

    try:
        for block in blocks:
            digest.update(block)
            size += len(block)
            pending += block
            while len(pending) >= CHUNK_SIZE:
                flush(bytes(pending[:CHUNK_SIZE]))
                del pending[:CHUNK_SIZE]
        if pending:
            flush(bytes(pending))
        begin()
        db.session.execute(update(_files).where(_files.c.key == key).values(size=size, sha256=digest.hexdigest()))
    except BaseException:
        if started:
            remove_quietly(key)
        raise
    return size, digest.hexdigest()


def remove_quietly(key: str) -> None:
    """:func:`remove`, when cleaning up after a failure: if the transaction itself has failed (as
    PostgreSQL's does after an error), its rollback removes what it wrote, so say so and go on."""
    try:
        remove(key)
    except SQLAlchemyError:
        log.warning("Could not remove stored file %s now; the failed transaction's rollback will.", key)


def remove(key: str) -> None:
    """Delete a file and its chunks in the session's transaction (nothing when there is none)."""
    db.session.execute(delete(_chunks).where(_chunks.c.file_key == key))
    db.session.execute(delete(_files).where(_files.c.key == key))


def find(key: str) -> StoredFile | None:
    """A file's size, hash and time, without its bytes."""
    return db.session.get(StoredFile, key)


def exists(key: str) -> bool:
    return db.session.scalar(select(_files.c.key).where(_files.c.key == key)) is not None


def chunks(engine: Engine, key: str, size: int) -> Iterator[bytes]:
    """The file's bytes, one chunk per step, each read over a connection of its own.

    Needs no application context or session: it runs while the WSGI server sends the response,
    after the request has ended. Stops short (the client sees fewer bytes than Content-Length) if
    the file is removed meanwhile.
    """
    number, sent = 0, 0
    while sent < size:
        with engine.connect() as connection:
            data = connection.scalar(select(_chunks.c.data).where(_chunks.c.file_key == key,
                                                                  _chunks.c.number == number))
        if data is None:
            log.error("Stored file %s lacks chunk %d; the download was cut short.", key, number)
            return
        sent += len(data)
        number += 1
        yield bytes(data)
