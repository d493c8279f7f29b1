"""Message catalogues for every offered language: ``python -m portal.translate update|compile``.

``pybabel init/update`` refuse languages without CLDR data (Samoan, Fijian, Bislama); Babel's
catalogue API does not, so this small tool treats every language alike.

- ``update``: extract the strings (babel.cfg) into ``translations/messages.pot`` and merge them
  into each language's ``messages.po``, creating it if needed.
- ``compile``: write each ``messages.mo`` (build products, not committed).
- ``check``: exit 1 when the template or a catalogue is out of date with the code.
- ``missing``: list, per language, the entries still untranslated or fuzzy.

Entries may carry a context (``msgctxt``): the same English word can need different translations,
e.g. the wide and abbreviated month "May".

Each language's catalogue starts with a two-line header, its ``Plural-Forms`` rule (how many forms a
plural message has and which number takes which): compiled into the ``.mo``, it is the rule gettext
uses at run time and the one the translators' review shows (``portal/wording``). It is written from
:data:`PLURAL_FORMS` when a catalogue is created and kept as it is afterwards.
"""
from __future__ import annotations

import io
import sys
from functools import lru_cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
TEMPLATE = TRANSLATIONS / "messages.pot"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None, "N_": None,
            # msgctxt: month and weekday names, countries (portal/locale_names.py)
            "pgettext": ((1, "c"), 2), "NP_": ((1, "c"), 2), "npgettext": ((1, "c"), 2, 3)}
#: Languages with a catalogue; English is the source language.
CATALOGUE_LANGUAGES = ("mi", "sm", "to", "fj", "fr", "bi")
#: A new catalogue's plural rule: Babel's (CLDR's) where it has the language (French: one for 0 and 1,
#: one for millions, "de" — "1 000 000 de bulletins" —, one for the rest; Tongan: one form for every
#: number; Māori: one and other), else the two forms of English, which the catalogue's translators can
#: make alike (Samoan, Fijian and Bislama mark number with articles and particles, not endings).
PLURAL_FORMS = {
    "fr": "nplurals=3; plural=(n == 0 || n == 1) ? 0 : n != 0 && n % 1000000 == 0 ? 1 : 2;",
    "to": "nplurals=1; plural=0;",
    "mi": "nplurals=2; plural=(n != 1);",
    "sm": "nplurals=2; plural=(n != 1);",
    "fj": "nplurals=2; plural=(n != 1);",
    "bi": "nplurals=2; plural=(n != 1);",
}


def extract() -> Catalog:
    with open(ROOT / "babel.cfg", encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    catalog = Catalog(project="Partner Sharing Portal", charset="utf-8")
    for _filename, _lineno, message, comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords={**KEYWORDS, "ngettext": (1, 2)},
        comment_tags=("Translators:",), strip_comment_tags=True,
    ):
        catalog.add(message, None, [], auto_comments=comments, context=context)
    return catalog


def _po_bytes(catalog: Catalog, plural_header: bool = True) -> bytes:
    """The file format of the repository's catalogues: sorted, no locations, and for a language's
    catalogue (not the template) a header of only its charset and ``Plural-Forms`` rule (Babel's
    full header carries dates that would change at every update)."""
    buffer = io.BytesIO()
    if plural_header:
        buffer.write(b'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
                     + f'"Plural-Forms: {catalog.plural_forms}\\n"\n\n'.encode())
    write_po(buffer, catalog, omit_header=True, no_location=True, sort_output=True, width=100,
             ignore_obsolete=True)
    return buffer.getvalue()


def _read(path: Path) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale=None)


def update() -> None:
    template = extract()
    TRANSLATIONS.mkdir(exist_ok=True)
    TEMPLATE.write_bytes(_po_bytes(template, plural_header=False))
    for language in CATALOGUE_LANGUAGES:
        path = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
        path.parent.mkdir(parents=True, exist_ok=True)
        catalog = _read(path) if path.exists() else _new_catalog(language)
        catalog.update(template, no_fuzzy_matching=True)
        path.write_bytes(_po_bytes(catalog))
        print(f"updated {path.relative_to(ROOT)}")


def _new_catalog(language: str) -> Catalog:
    catalog = Catalog(charset="utf-8")
    catalog.mime_headers = [("Plural-Forms", PLURAL_FORMS.get(language, "nplurals=2; plural=(n != 1);"))]
    return catalog


@lru_cache(maxsize=16)
def plural_forms(language: str) -> tuple[int, str]:
    """``language``'s plural rule as its catalogue's header states it: (number of forms, C expression
    of ``n`` giving a number's form). English, and a language without a catalogue, have two."""
    path = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
    if language == "en" or not path.exists():
        return 2, "(n != 1)"
    catalog = _read(path)
    return catalog.num_plurals, catalog.plural_expr


def compile_all() -> None:
    for language in CATALOGUE_LANGUAGES:
        po = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
        if not po.exists():
            continue
        catalog = _read(po)
        with (po.with_suffix(".mo")).open("wb") as fh:
            write_mo(fh, catalog, use_fuzzy=False)


def untranslated(language: str) -> list[str]:
    """The entries of a language's catalogue that are empty or fuzzy (``msgctxt|msgid``)."""
    found: list[str] = []
    for message in _read(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"):
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
        if message.fuzzy or not all(strings):
            found.append(_key(message))
    return found


def _key(message) -> str:
    msgid = message.id if isinstance(message.id, str) else message.id[0]
    return f"{message.context}|{msgid}" if message.context else msgid


def problems() -> list[str]:
    """What is out of date: strings in the code missing from the template or a catalogue."""
    found: list[str] = []
    template = extract()
    wanted = {_key(m) for m in template if m.id}
    if not TEMPLATE.exists():
        return ["translations/messages.pot is missing: run `make strings`."]
    current = {_key(m) for m in _read(TEMPLATE) if m.id}
    if wanted != current:
        missing, stale = sorted(wanted - current), sorted(current - wanted)
        found.append(f"translations/messages.pot is out of date ({len(missing)} new, {len(stale)} gone; "
                     f"e.g. {(missing or stale)[0]!r}): run `make strings`.")
    for language in CATALOGUE_LANGUAGES:
        path = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
        if not path.exists():
            found.append(f"{path.relative_to(ROOT)} is missing: run `make strings`.")
            continue
        have = {_key(m) for m in _read(path) if m.id}
        if wanted - have:
            found.append(f"{path.relative_to(ROOT)} lacks {len(wanted - have)} string(s): run `make strings`.")
    return found


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else ""
    if command == "update":
        update()
    elif command == "compile":
        compile_all()
    elif command == "check":
        found = problems()
        for line in found:
            print(line, file=sys.stderr)
        return 1 if found else 0
    elif command == "missing":
        for language in CATALOGUE_LANGUAGES:
            print(f"{language}: {len(untranslated(language))} untranslated or fuzzy")
    else:
        print("usage: python -m portal.translate update|compile|check|missing", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
