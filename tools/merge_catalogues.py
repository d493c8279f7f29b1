"""Resolve translation-catalogue conflicts during a `git merge`.

Run from the repository root while a merge is stopped on conflicts in ``translations/``:
our side's catalogues are kept, the template is re-extracted from the merged code, and every
message still empty or fuzzy takes the wording the other branch (MERGE_HEAD) gave it.
"""
from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from babel.messages.pofile import read_po  # noqa: E402

from portal import translate as t  # noqa: E402


def _theirs(language: str):
    path = f"translations/{language}/LC_MESSAGES/messages.po"
    shown = subprocess.run(["git", "show", f"MERGE_HEAD:{path}"], capture_output=True, check=False)
    if shown.returncode:
        return None
    return read_po(io.BytesIO(shown.stdout), locale=None)


def _empty(message) -> bool:
    if message.fuzzy:
        return True
    if isinstance(message.string, tuple | list):
        return not all(message.string)
    return not message.string


def main() -> int:
    subprocess.run(["git", "checkout", "--ours", "--", "translations"], check=False)
    t.update()
    for language in t.CATALOGUE_LANGUAGES:
        path = t.TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
        ours = t._read(path)
        theirs = _theirs(language)
        if theirs is not None:
            for message in ours:
                if not message.id or not _empty(message):
                    continue
                other = theirs.get(message.id, message.context)
                if other is not None and not _empty(other):
                    message.string = other.string
                    message.flags.discard("fuzzy")
        path.write_bytes(t._po_bytes(ours))
    subprocess.run(["git", "add", "translations"], check=True)
    t.compile_all()
    for language in t.CATALOGUE_LANGUAGES:
        print(language, len(t.untranslated(language)), "untranslated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
