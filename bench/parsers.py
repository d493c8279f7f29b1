"""Bounded work: every parser the portal runs on what people send, on the worst inputs we can build.

For each parser and input family this prints the time at the size limit, at half and at a quarter
of it (the fastest of three runs each), and the ratio for each doubling: about 2 means linear, 4
quadratic. ``tests/test_bounded_work.py`` runs the same families and asserts the bounds that
README's "Bounded work" states.

    .venv/bin/python bench/parsers.py                 # the portal's parsers
    .venv/bin/python bench/parsers.py --compare       # also the libraries it chose between
    .venv/bin/python bench/parsers.py --family '[' --parser markdown

``--compare`` runs each measurement in a child process that is stopped after ``--timeout`` seconds
(Python-Markdown and bleach take minutes on some of these), and needs the candidates installed
(``pip install markdown-it-py mistune Markdown bleach``); a missing one is skipped.
"""
from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: A bulletin body's size limit (``portal.bulletins.service.MAX_BODY``).
BODY_LIMIT = 200_000
#: A search query's size limit (``portal.search.MAX_QUERY_LENGTH``).
QUERY_LIMIT = 500
#: A report narrative's size limit (``submission_max_narrative``), the largest text goAML carries.
NARRATIVE_LIMIT = 50_000
#: A bulletin summary's limit, the largest text an e-mail carries.
SUMMARY_LIMIT = 2_000
#: Rows and cell size of the CSV family (an export holds at most 100,000 rows).
CSV_ROWS = 20_000


def repeat(unit: str, size: int) -> str:
    """``unit`` repeated to exactly ``size`` characters."""
    return (unit * (size // len(unit) + 1))[:size]


def numbered(template: str, size: int) -> str:
    """``template`` with ``{i}`` counting up, repeated to about ``size`` characters."""
    parts, total, i = [], 0, 0
    while total < size:
        part = template.format(i=i)
        parts.append(part)
        total += len(part)
        i += 1
    return "".join(parts)[:size]


def _backtick_ladder(size: int) -> str:
    parts, total, k = [], 0, 1
    while total < size:
        parts.append("`" * k + "a")
        total += k + 1
        k = k % 400 + 1
    return "".join(parts)[:size]


def _wide_table(size: int) -> str:
    """A header of size/4 columns, then rows of one cell: padding every row to the header's width
    makes columns x rows cells (quadratic) unless the renderer caps it."""
    columns = size // 8
    head = "|" + "a|" * columns + "\n|" + "-|" * columns + "\n"
    return head + repeat("|\n", size - len(head))


def _paragraphs_under_formatting(size: int) -> str:
    """Formatting elements left open, then paragraphs: a parser re-opens every one in each paragraph."""
    half = numbered('<b title="{i}">', size // 2)
    return "<p>" + half + repeat("<p>x</p>", size - len(half) - 3)


#: Bodies written as HTML (each holds a tag, so it takes the HTML path).
HTML_FAMILIES: dict[str, Callable[[int], str]] = {
    "<a unclosed, repeated": lambda n: "<p>x</p>" + repeat("<a", n - 8),
    "<script unclosed, repeated": lambda n: "<p>x</p>" + repeat("<script", n - 8),
    "<b> nested": lambda n: repeat("<b>", n),
    "<div> nested": lambda n: repeat("<div>", n),
    "<blockquote><ul><li> nested": lambda n: repeat("<blockquote><ul><li>", n),
    "<table><tr><td> nested": lambda n: repeat("<table><tr><td>", n),
    "misnested formatting (<b><i></b>)": lambda n: numbered('<b title="{i}"><i title="{i}"></b>', n),
    "paragraphs under open formatting": _paragraphs_under_formatting,
    "unclosed attribute quotes": lambda n: "<p>x</p>" + repeat('<a title="x <a title=\'y ', n - 8),
    "<!-- unclosed comments": lambda n: "<p>x</p>" + repeat("<!--", n - 8),
    "character references": lambda n: "<p>" + repeat("&#" + "9" * 20 + ";&amp&", n - 3),
    "unknown references": lambda n: "<p>" + repeat("&x;", n - 3),
    "references in an attribute": lambda n: '<a title="' + repeat("&x;&amp;", n - 10) + '">x</a>',
    "one long web address": lambda n: "<p>http://a.example/" + repeat("&x;", n - 20),
    "bare web addresses": lambda n: "<p>" + repeat("http://a.example/x?y=1 ", n - 3),
    "< and spaces": lambda n: "<p>x</p>" + repeat("<  / ", n - 8),
}

#: Bodies written as Markdown (no tag).
MARKDOWN_FAMILIES: dict[str, Callable[[int], str]] = {
    "[ run": lambda n: repeat("[", n),
    "[a]( run": lambda n: repeat("[a](", n),
    "![ run": lambda n: repeat("![", n),
    "[]( < run": lambda n: repeat("[](<", n),
    "* emphasis markers": lambda n: repeat("*a", n),
    "_ emphasis markers": lambda n: repeat("_a", n),
    "** and _ mixed": lambda n: repeat("**a_ *_b", n),
    "` ladder of code spans": _backtick_ladder,
    "> nested quotes": lambda n: repeat("> ", n),
    "- nested lists": lambda n: repeat("- ", n),
    "1. nested lists": lambda n: repeat("1. ", n),
    "reference definitions": lambda n: numbered("[r{i}]: /u{i}\n", n),
    "references used": lambda n: "[r]: /u\n\n" + repeat("[r] [x][r] ", n - 9),
    "table, many rows": lambda n: "|a|b|\n|-|-|\n" + repeat("|x|y|\n", n - 12),
    "table, wide header": _wide_table,
    "<http autolinks unclosed": lambda n: repeat("<http://", n),
    "\\ escapes": lambda n: repeat("\\", n),
    "& references": lambda n: repeat("&#9999999;&", n),
    "plain prose": lambda n: repeat("The vessel docked at dawn. ", n),
}

QUERY_FAMILIES: dict[str, Callable[[int], str]] = {
    "many words": lambda n: repeat("ab ", n),
    "one long word": lambda n: repeat("a", n),
    "expanding characters (U+FDFA)": lambda n: repeat("\ufdfa", n),
    "quotes and operators": lambda n: repeat('"*():^-', n),
}

NARRATIVE_FAMILIES: dict[str, Callable[[int], str]] = {
    "control characters": lambda n: repeat("\x00\x01\x0b\x0c\x1f\ufffe", n),
    "markup characters": lambda n: repeat("<&>\"'", n),
    "combining accents in names": lambda n: repeat("e\u0301\u0308", n),
}

SUMMARY_FAMILIES: dict[str, Callable[[int], str]] = {
    "markup characters": lambda n: repeat("<&>\"'", n),
    "no spaces (header folding)": lambda n: repeat("\u00e9", n),
    "control characters": lambda n: repeat("\x00\x1e\r\n", n),
}

CSV_FAMILIES: dict[str, Callable[[int], str]] = {
    "quotes and line breaks": lambda n: repeat('"\r\n,', n),
    "formulas and controls": lambda n: repeat("=\x00\x01", n),
}


# --- The portal's parsers, each as a function of one text ----------------------------------------

def clean_html(text: str) -> Any:
    from portal.sanitise import clean_html as run

    return run(text)


def goaml_export(narrative: str) -> Any:
    """A report whose narrative, names and notes are ``narrative`` (names and notes cut to their limits)."""
    from portal.submissions.goaml import export

    name = narrative[:300]
    subjects = [{"id": f"p{i}", "kind": "person", "names": [name], "aliases": [name], "notes": name,
                 "documents": [{"type": "passport", "number": "T1234567", "country": "TO"}]} for i in range(50)]
    subjects += [{"id": f"e{i}", "kind": "entity", "name": name, "notes": name} for i in range(50)]
    report = SimpleNamespace(
        content={"narrative": narrative, "subjects": subjects, "typologies": ["money-laundering"], "transactions": []},
        submitting_org=SimpleNamespace(slug="harbour-bank", country="NZ"), reference="SAR-2026-000001",
        submitted_at=dt.datetime(2026, 10, 1, tzinfo=dt.timezone.utc))
    return export(report)  # type: ignore[arg-type]


def email_compose(summary: str) -> Any:
    """A notification e-mail whose title is the first 300 characters of ``summary``, in French."""
    from portal.i18n import reading_as
    from portal.notifications.email import compose_one
    from portal.outbox import Ceiling, Subject
    from portal.vocabulary import Classification

    delivery = SimpleNamespace(id="0" * 36, message_id=1,
                               message=SimpleNamespace(event="bulletin.published",
                                                       created_at=dt.datetime(2026, 10, 1, tzinfo=dt.timezone.utc)))
    user = SimpleNamespace(email="reader@bank.example", display_name=summary[:100], locale="fr",
                           time_zone="Pacific/Apia")
    subject = Subject(reference="B-1", path="/bulletins/1", title=summary[:300], summary=summary, tlp="GREEN",
                      org=summary[:200])
    with reading_as(user.locale, user.time_zone):
        return compose_one(delivery, user, subject, Ceiling(Classification.IN_CONFIDENCE)).as_bytes()  # type: ignore[arg-type]


def csv_export(cell: str) -> Any:
    """CSV_ROWS rows of twelve cells sharing ``cell``'s text (each a slice of it)."""
    from portal.csv_export import csv_text

    width = max(1, len(cell) // CSV_ROWS)
    rows = ([cell[(i * width) % len(cell):][:width]] * 12 for i in range(CSV_ROWS))
    return csv_text([f"c{i}" for i in range(12)], rows)


def search_words(query: str) -> Any:
    from portal.search import words

    return words(query)


# --- The libraries compared before choosing (bench only) ------------------------------------------

def _python_markdown(text: str) -> Any:
    import markdown

    return markdown.markdown(text, extensions=["tables", "sane_lists"], output_format="html")


def _markdown_it(text: str) -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table").render(text)


def _mistune(text: str) -> Any:
    import mistune

    return mistune.create_markdown(escape=True, plugins=["table"])(text)


def _cmarkgfm(text: str) -> Any:
    from portal.sanitise import render_markdown  # what the portal uses

    return render_markdown(text)


def _bleach(text: str) -> Any:
    import bleach

    from portal.sanitise import ALLOWED_ATTRIBUTES, ALLOWED_PROTOCOLS, ALLOWED_TAGS

    return bleach.clean(text, tags=ALLOWED_TAGS, attributes={k: list(v) for k, v in ALLOWED_ATTRIBUTES.items()},
                        protocols=ALLOWED_PROTOCOLS, strip=True, strip_comments=True)


def _nh3_alone(text: str) -> Any:
    import nh3

    return nh3.clean(text)


def _portal_sanitiser(text: str) -> Any:
    from portal.sanitise import sanitise_html

    return sanitise_html(text)


def _old_clean_html(text: str) -> Any:
    """The pipeline before issue 13: a tag regex, Python-Markdown, bleach, bleach's linkifier."""
    import re

    import bleach
    from bleach.linkifier import Linker

    from portal.sanitise import ALLOWED_ATTRIBUTES, ALLOWED_PROTOCOLS, ALLOWED_TAGS

    code = re.compile(r"<(script|style|template|noscript)\b[^>]*>.*?(</\1\s*>|$)", re.IGNORECASE | re.DOTALL)
    tag = re.compile(r"<\s*/?\s*[a-zA-Z][^>]*>")
    text = code.sub("", text)
    if not tag.search(text):
        text = _python_markdown(text)
    cleaner = bleach.Cleaner(tags=ALLOWED_TAGS, attributes={k: list(v) for k, v in ALLOWED_ATTRIBUTES.items()},
                             protocols=ALLOWED_PROTOCOLS, strip=True, strip_comments=True)
    return Linker(skip_tags={"pre", "code"}, parse_email=False).linkify(cleaner.clean(text))


#: (parser, function, families, size limit, needs an app context)
PORTAL: list[tuple[str, Callable[[str], Any], dict[str, Callable[[int], str]], int, bool]] = [
    ("bulletin body, HTML", clean_html, HTML_FAMILIES, BODY_LIMIT, False),
    ("bulletin body, Markdown", clean_html, MARKDOWN_FAMILIES, BODY_LIMIT, False),
    ("search query", search_words, QUERY_FAMILIES, QUERY_LIMIT, False),
    ("goAML export", goaml_export, NARRATIVE_FAMILIES, NARRATIVE_LIMIT, True),
    ("e-mail", email_compose, SUMMARY_FAMILIES, SUMMARY_LIMIT, True),
    ("CSV export", csv_export, CSV_FAMILIES, CSV_ROWS * 20, False),
]
CANDIDATES: list[tuple[str, Callable[[str], Any], dict[str, Callable[[int], str]], int, bool]] = [
    ("before: Python-Markdown + bleach", _old_clean_html, {**HTML_FAMILIES, **MARKDOWN_FAMILIES}, BODY_LIMIT, False),
    ("Markdown: Python-Markdown", _python_markdown, MARKDOWN_FAMILIES, BODY_LIMIT, False),
    ("Markdown: markdown-it-py", _markdown_it, MARKDOWN_FAMILIES, BODY_LIMIT, False),
    ("Markdown: mistune", _mistune, MARKDOWN_FAMILIES, BODY_LIMIT, False),
    ("Markdown: cmarkgfm (portal)", _cmarkgfm, MARKDOWN_FAMILIES, BODY_LIMIT, False),
    ("HTML: bleach", _bleach, HTML_FAMILIES, BODY_LIMIT, False),
    ("HTML: nh3 alone", _nh3_alone, HTML_FAMILIES, BODY_LIMIT, False),
    ("HTML: tokenizer + nh3 (portal)", _portal_sanitiser, HTML_FAMILIES, BODY_LIMIT, False),
]


# --- Measuring ------------------------------------------------------------------------------------

def fastest(function: Callable[[str], Any], text: str, runs: int = 3) -> float:
    """The fastest of ``runs`` calls, in seconds of CPU time (this process's: other load on the machine
    counts little), repeating fast calls until each sample is >= 20 ms."""
    start = time.process_time()
    function(text)
    first = time.process_time() - start
    loops = max(1, min(1000, int(0.02 / max(first, 1e-7))))
    best = first if loops == 1 else float("inf")
    for _ in range(runs - (1 if loops == 1 else 0)):
        start = time.process_time()
        for _ in range(loops):
            function(text)
        best = min(best, (time.process_time() - start) / loops)
    return best


def sizes(limit: int) -> tuple[int, int, int]:
    return limit // 4, limit // 2, limit


def measure(function: Callable[[str], Any], family: Callable[[int], str], limit: int,
            runs: int = 3, give_up: float | None = None) -> list[float | None]:
    """Times at a quarter, half and the whole limit; None from the first that passed ``give_up`` on."""
    times: list[float | None] = []
    for size in sizes(limit):
        if give_up is not None and times and (times[-1] is None or times[-1] > give_up):
            times.append(None)
            continue
        times.append(fastest(function, family(size), runs))
    return times


def _child(function: Callable[[str], Any], text: str, runs: int, queue: Any) -> None:
    try:
        queue.put(("ok", fastest(function, text, runs)))
    except BaseException as exc:  # handed to the parent, which raises it
        queue.put(("error", f"{type(exc).__name__}: {exc}"))


def measure_with_timeout(function: Callable[[str], Any], family: Callable[[int], str], limit: int,
                         timeout: float, runs: int = 3) -> list[float | None]:
    """As :func:`measure`, each size in a child process stopped after ``timeout`` seconds (None)."""
    context = multiprocessing.get_context("fork")
    times: list[float | None] = []
    for size in sizes(limit):
        if times and times[-1] is None:
            times.append(None)
            continue
        queue = context.Queue()
        child = context.Process(target=_child, args=(function, family(size), runs, queue))
        child.start()
        child.join(timeout)
        if child.is_alive():
            child.kill()
            child.join()
            times.append(None)
        else:
            try:
                outcome, value = queue.get(timeout=5)
            except Exception as exc:  # the child died without a word (killed, out of memory)
                raise RuntimeError(f"the measuring process ended with code {child.exitcode}") from exc
            if outcome == "error":
                raise RuntimeError(f"at {size} characters: {value}")
            times.append(value)
    return times


def ratios(times: list[float | None]) -> list[float | None]:
    return [b / a if a and b else None for a, b in zip(times, times[1:], strict=False)]


def _fmt(seconds: float | None, timeout: float) -> str:
    if seconds is None:
        return f"> {timeout:g} s"
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", action="store_true", help="also the candidate libraries")
    parser.add_argument("--only-compare", action="store_true", help="only the candidate libraries")
    parser.add_argument("--family", help="only families whose name contains this")
    parser.add_argument("--parser", help="only parsers whose name contains this")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per measurement (candidates)")
    args = parser.parse_args()

    import tempfile

    from app import create_app
    from benchlib import SECRETS  # an app that stores nothing: its settings only

    instance = tempfile.mkdtemp(prefix="bench-parsers-")
    app = create_app({"env": "test", "database_url": f"sqlite:///{instance}/bench.sqlite3",
                      "instance_path": instance, "base_url": "http://localhost", **SECRETS})
    groups = [] if args.only_compare else [(row, False) for row in PORTAL]
    if args.compare or args.only_compare:
        groups += [(row, True) for row in CANDIDATES]
    print(f"{'parser':34} {'input family':36} {'1/4 limit':>10} {'1/2 limit':>10} {'limit':>10} "
          f"{'x 1/4->1/2':>10} {'x 1/2->1':>9}")
    with app.app_context():
        for (name, function, families, limit, _needs_app), isolated in groups:
            if args.parser and args.parser.lower() not in name.lower():
                continue
            for family_name, family in families.items():
                if args.family and args.family not in family_name:
                    continue
                try:
                    function("x")  # a missing library shows here, not as a stopped child
                    if isolated:
                        times = measure_with_timeout(function, family, limit, args.timeout)
                    else:
                        times = measure(function, family, limit)
                except ImportError as exc:
                    print(f"{name:34} (not installed: {exc.name})")
                    break
                except RuntimeError as exc:
                    print(f"{name:34} {family_name:36} failed: {exc}"[:160], flush=True)
                    continue
                shown = [f"{r:.2f}" if r else "-" for r in ratios(times)]
                print(f"{name:34} {family_name:36} " + " ".join(f"{_fmt(t, args.timeout):>10}" for t in times)
                      + f" {shown[0]:>10} {shown[1]:>9}", flush=True)


if __name__ == "__main__":
    main()
