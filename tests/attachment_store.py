"""What the attachment store holds, looked at from outside it, in whichever mode the app uses."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from portal.config import settings
from portal.extensions import db
from portal.file_store import StoredFile, StoredFileChunk


def storage(app) -> str:
    return settings(app).attachment_storage


def rows() -> tuple[int, int]:
    """How many files and chunks the database store holds (committed, as another session sees them)."""
    db.session.rollback()
    return (db.session.scalar(select(func.count()).select_from(StoredFile)),
            db.session.scalar(select(func.count()).select_from(StoredFileChunk)))


def files_on_disk(app) -> list[Path]:
    base = Path(settings(app).attachments_dir)
    return sorted(p for p in base.rglob("*") if p.is_file()) if base.exists() else []


def kept(app) -> list[bytes]:
    """The bytes of every file the active store keeps."""
    if storage(app) == "directory":
        assert rows() == (0, 0)
        return [p.read_bytes() for p in files_on_disk(app)]
    assert files_on_disk(app) == []  # nothing on this host's disk
    db.session.rollback()
    contents = []
    for key in db.session.scalars(select(StoredFile.key).order_by(StoredFile.key)):
        chunks = db.session.scalars(select(StoredFileChunk.data).where(StoredFileChunk.file_key == key)
                                    .order_by(StoredFileChunk.number))
        contents.append(b"".join(chunks))
    return contents
