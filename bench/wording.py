"""What accepted wordings cost gettext: one string translated for a Samoan reader inside a request,
(a) as before run-time wordings existed (the compiled catalogue looked up per string), (b) through
the portal's gettext with no accepted wording, (c) with 500 accepted wordings in force; the same for
ngettext (plural messages, every one of them accepted in every form in (c)); and the once-per-request
version check against rendering one page.

    .venv/bin/python bench/wording.py [--strings 200000] [--overrides 500]
"""
from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--strings", type=int, default=200_000)
    parser.add_argument("--overrides", type=int, default=500)
    args = parser.parse_args()

    from flask import g
    from flask_migrate import upgrade

    from app import create_app
    from portal import i18n
    from portal.extensions import db
    from portal.types import utcnow
    from portal.wording.messages import messages
    from portal.wording.models import WordingSuggestion
    from portal.wording.overrides import changed, wordings

    directory = Path(tempfile.mkdtemp(prefix="bench-wording-"))
    app = create_app({"env": "test", "database_url": f"sqlite:///{directory / 'portal.sqlite3'}",
                      "instance_path": str(directory / "instance"), "secret_key": "b" * 48,
                      "audit_key": "a" * 48, "blind_index_key": "i" * 48})
    with app.app_context():
        upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    sample = [m.msgid for m in list(messages().values())[:200] if not m.context and not m.is_plural]
    plurals = [m for m in messages().values() if m.is_plural and not m.context]

    def old_gettext(message: str) -> str:  # before this change: the compiled catalogue, per string
        return i18n.translations_for(i18n.current_language()).ugettext(message)

    def per_string(function) -> float:
        with app.test_request_context("/"):
            g._language = "sm"
            function(sample[0])
            started = time.perf_counter()
            for index in range(args.strings):
                function(sample[index % len(sample)])
            return (time.perf_counter() - started) / args.strings * 1e9

    def old_ngettext(index: int) -> str:
        message = plurals[index % len(plurals)]
        return i18n.translations_for(i18n.current_language()).ungettext(message.msgid, message.plural, index % 7)

    def new_ngettext(index: int) -> str:
        message = plurals[index % len(plurals)]
        return i18n.ngettext(message.msgid, message.plural, index % 7)

    def per_plural(function) -> float:
        with app.test_request_context("/"):
            g._language = "sm"
            function(0)
            started = time.perf_counter()
            for index in range(args.strings):
                function(index)
            return (time.perf_counter() - started) / args.strings * 1e9

    baseline = per_string(old_gettext)
    plain = per_string(i18n.gettext)
    plural_baseline, plural_plain = per_plural(old_ngettext), per_plural(new_ngettext)
    with app.app_context():
        for msgid in sample[: args.overrides] * (args.overrides // len(sample) + 1):
            db.session.add(WordingSuggestion(kind="suggest", language="sm", context="", msgid=msgid,
                                             wording=secrets.token_hex(6), status="accepted", decided_at=utcnow()))
        for message in plurals:
            forms = [f"%(num)s {secrets.token_hex(4)}", f"%(num)s {secrets.token_hex(5)}"]
            db.session.add(WordingSuggestion(kind="suggest", language="sm", context="", msgid=message.msgid,
                                             msgid_plural=message.plural, wording=forms[0], plural_wordings=forms,
                                             status="accepted", decided_at=utcnow()))
        changed()
        db.session.commit()
    overridden = per_string(i18n.gettext)
    plural_overridden = per_plural(new_ngettext)
    with app.test_request_context("/"):
        assert len(wordings().accepted("sm")) == min(args.overrides, len(sample)) + len(plurals)

    # The version check, once per request, against rendering the sign-in page in Samoan.
    client = app.test_client()
    client.get("/login", headers={"Accept-Language": "sm"})
    runs = 200
    started = time.perf_counter()
    for _ in range(runs):
        client.get("/login", headers={"Accept-Language": "sm"})
    page = (time.perf_counter() - started) / runs * 1e6
    with app.test_request_context("/"):
        started = time.perf_counter()
        for _ in range(runs):
            g._wordings_checked = False
            wordings().refresh()
        check = (time.perf_counter() - started) / runs * 1e6

    print(f"gettext, compiled catalogue only (before): {baseline:8.0f} ns/string  1.00")
    print(f"gettext, no accepted wording:               {plain:8.0f} ns/string  {plain / baseline:.2f}")
    print(f"gettext, {min(args.overrides, len(sample))} accepted wordings:            "
          f"{overridden:8.0f} ns/string  {overridden / baseline:.2f}")
    print(f"ngettext, compiled catalogue only (before): {plural_baseline:7.0f} ns/string  1.00")
    print(f"ngettext, no accepted wording:               {plural_plain:7.0f} ns/string  "
          f"{plural_plain / plural_baseline:.2f}")
    print(f"ngettext, all {len(plurals)} plural messages accepted:   {plural_overridden:7.0f} ns/string  "
          f"{plural_overridden / plural_baseline:.2f}")
    print(f"version check per request: {check:7.0f} µs; /login in Samoan: {page:7.0f} µs ({check / page:.1%})")


if __name__ == "__main__":
    main()
