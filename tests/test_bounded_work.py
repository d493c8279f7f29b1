"""Issue 13, class 1: unbounded work from one request.

Every text the portal parses, renders or sanitises must finish in bounded time for any input
within its size limit. For each parser, the worst inputs of ``bench/parsers.py`` (deep nesting,
unclosed tags and brackets, runs of emphasis markers, huge tables, …) at a quarter, half and the
whole of its limit: the fastest of three runs (in CPU time) stays under the parser's bound at the
limit, and each doubling of the input costs at most :data:`RATIO` times as much, on average over
the two doublings (linear work doubles, quadratic work quadruples).

Each size runs in a child process stopped once it has had three times the bound, so a parser that
regresses fails in seconds instead of holding the suite for minutes.
"""
from __future__ import annotations

import time
from typing import Any, Callable

import pytest

from app import create_app
from bench import parsers as bench
from tests.conftest import TEST_SECRETS

#: At most this many times the time for each doubling of the input (a quarter of the limit to all
#: of it: RATIO squared). README states what was measured (about 2); the slack is for a loaded
#: 2-core CI machine, where one sample in a few milliseconds is easily off. Quadratic work gives 4.
RATIO = 2.6
#: Below this at the limit the work is negligible (less than a request's own cost), and its ratio
#: noise: a quarter of such an input fits in the CPU's caches, the whole does not, and in a large
#: process (the whole suite) that alone made 6 ms at a quarter of the limit 48 ms at all of it, and
#: a `[` run measured 5.4, 13.4 and 50.5 ms in CI while it takes 51, 99 and 193 ms at 1, 2 and 4
#: times the limit (linear) when measured alone.
FLOOR = 0.1
#: Seconds at the size limit, fastest of three runs; README's bounds, doubled for a loaded machine.
BODY_BOUND, QUERY_BOUND, GOAML_BOUND, EMAIL_BOUND, CSV_BOUND = 2.0, 0.05, 1.0, 0.05, 1.0


@pytest.fixture(scope="module")
def settings_app(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """An application for its settings and templates only (goAML, e-mail): no database is touched."""
    instance = tmp_path_factory.mktemp("bounded")
    application = create_app({"env": "test", "database_url": f"sqlite:///{instance}/unused.sqlite3",
                              "instance_path": str(instance), "base_url": "http://localhost", **TEST_SECRETS})
    with application.app_context():
        yield application


def _within(times: list[float], bound: float) -> bool:
    quarter, whole = times[0], times[-1]
    return whole <= bound and (whole < FLOOR or whole <= RATIO ** 2 * quarter)


def assert_bounded(function: Callable[[str], Any], family: Callable[[int], str], limit: int, bound: float,
                   attempts: int = 3) -> None:
    """The claim of this module for one parser and input family. A sample on a busy machine can be
    slow by chance, never fast: when the check fails, it measures again (at most ``attempts``
    times) and keeps each size's fastest time, which a parser that is really slow never improves."""
    best: list[float] = []
    for _attempt in range(attempts):
        times = bench.measure_with_timeout(function, family, limit, timeout=3 * bound + 2)
        shown = ", ".join("stopped" if t is None else f"{t * 1000:.1f} ms" for t in times)
        assert None not in times, f"did not finish in {3 * bound + 2:g} s at {bench.sizes(limit)} characters: {shown}"
        best = [min(pair) for pair in zip(best, times, strict=True)] if best else list(times)
        if _within(best, bound):
            return
    shown = ", ".join(f"{t * 1000:.1f} ms" for t in best)
    assert best[-1] <= bound, f"{best[-1]:.2f} s at the limit ({limit} characters), over {bound} s: {shown}"
    raise AssertionError(f"{(best[-1] / best[0]) ** 0.5:.2f}x the time per doubling of the input "
                         f"(at most {RATIO}x): {shown} at {bench.sizes(limit)} characters")


@pytest.mark.parametrize("family", list(bench.HTML_FAMILIES))
def test_class_unbounded_work_bulletin_html_finishes_in_linear_time(family: str) -> None:
    assert_bounded(bench.clean_html, bench.HTML_FAMILIES[family], bench.BODY_LIMIT, BODY_BOUND)


@pytest.mark.parametrize("family", list(bench.MARKDOWN_FAMILIES))
def test_class_unbounded_work_bulletin_markdown_finishes_in_linear_time(family: str) -> None:
    assert_bounded(bench.clean_html, bench.MARKDOWN_FAMILIES[family], bench.BODY_LIMIT, BODY_BOUND)


@pytest.mark.parametrize("family", list(bench.QUERY_FAMILIES))
def test_class_unbounded_work_search_query_words_in_linear_time(family: str) -> None:
    assert_bounded(bench.search_words, bench.QUERY_FAMILIES[family], bench.QUERY_LIMIT, QUERY_BOUND)


@pytest.mark.parametrize("family", list(bench.NARRATIVE_FAMILIES))
def test_class_unbounded_work_goaml_export_finishes_in_linear_time(settings_app: Any, family: str) -> None:
    assert_bounded(bench.goaml_export, bench.NARRATIVE_FAMILIES[family], bench.NARRATIVE_LIMIT, GOAML_BOUND)


@pytest.mark.parametrize("family", list(bench.SUMMARY_FAMILIES))
def test_class_unbounded_work_email_renders_in_linear_time(settings_app: Any, family: str) -> None:
    assert_bounded(bench.email_compose, bench.SUMMARY_FAMILIES[family], bench.SUMMARY_LIMIT, EMAIL_BOUND)


@pytest.mark.parametrize("family", list(bench.CSV_FAMILIES))
def test_class_unbounded_work_csv_export_in_linear_time(family: str) -> None:
    assert_bounded(bench.csv_export, bench.CSV_FAMILIES[family], bench.CSV_ROWS * 20, CSV_BOUND)


def test_class_unbounded_work_the_body_limit_is_enforced_before_any_parsing(client: Any, world: Any) -> None:
    """The bounds above hold up to the limit; a body one character longer is refused (400), unparsed."""
    from portal.bulletins.models import Bulletin
    from portal.bulletins.service import MAX_BODY
    from portal.extensions import db
    from sqlalchemy import func, select
    from tests.conftest import bearer

    assert MAX_BODY == bench.BODY_LIMIT
    customs = world.org("nz-customs", "government", "customs")
    aroha = world.user("aroha@customs.example", customs, ("publisher",), clearance="RESTRICTED")
    body = {"title": "t", "classification": "IN-CONFIDENCE", "tlp": "GREEN", "audience": {"orgs": ["nz-customs"]},
            "body_html": "[" * (MAX_BODY + 1)}
    started = time.perf_counter()
    response = client.post("/api/v1/bulletins", json=body, headers=bearer(aroha))
    assert response.status_code == 400 and "body_html" in response.get_json()["error"]["fields"]
    assert time.perf_counter() - started < 2
    assert db.session.scalar(select(func.count()).select_from(Bulletin)) == 0
    body["body_html"] = bench.MARKDOWN_FAMILIES["[ run"](MAX_BODY)
    response = client.post("/api/v1/bulletins", json=body, headers=bearer(aroha))
    assert response.status_code == 201, response.get_json()


def test_class_unbounded_work_search_queries_are_capped_on_the_database(client: Any, world: Any) -> None:
    """A query over the limit is a 400 (the page leaves it out); within it, the worst queries run in
    bounded time on the database itself, SQLite FTS5 and PostgreSQL alike."""
    from portal.bulletins.models import Bulletin
    from portal.extensions import db
    from portal.search import MAX_QUERY_LENGTH, bulletin_matches
    from sqlalchemy import select
    from tests.conftest import bearer, sign_in

    customs = world.org("nz-customs", "government", "customs")
    aroha = world.user("aroha@customs.example", customs, ("publisher",), clearance="RESTRICTED")
    long_word = "a" * 100
    for title in ("Cash couriers at the airport", f"Word {long_word}", "ab ab ab"):
        created = client.post("/api/v1/bulletins", headers=bearer(aroha), json={
            "title": title, "classification": "IN-CONFIDENCE", "tlp": "GREEN", "publish": True,
            "audience": {"orgs": ["nz-customs"]}})
        assert created.status_code == 201, created.get_json()
    assert bench.QUERY_LIMIT == MAX_QUERY_LENGTH
    too_long = client.get("/api/v1/bulletins", query_string={"q": "a" * (MAX_QUERY_LENGTH + 1)},
                          headers=bearer(aroha))
    assert too_long.status_code == 400 and "q" in too_long.get_json()["error"]["fields"]
    found = client.get("/api/v1/bulletins", query_string={"q": long_word}, headers=bearer(aroha)).get_json()
    assert [item["title"] for item in found["items"]] == [f"Word {long_word}"]  # cut to a prefix, still found
    sign_in(client, aroha)
    assert client.get("/bulletins", query_string={"q": "a" * (MAX_QUERY_LENGTH + 1)}).status_code == 200

    def run(query: str) -> Any:
        return db.session.scalars(select(Bulletin.id).where(bulletin_matches(query))).all()

    for name, family in bench.QUERY_FAMILIES.items():
        times = [bench.fastest(run, family(size)) for size in bench.sizes(MAX_QUERY_LENGTH)]
        for _attempt in range(2):  # as assert_bounded: a slow sample by chance is measured again
            if _within(times, 0.5):
                break
            times = [min(t, bench.fastest(run, family(size))) for t, size in
                     zip(times, bench.sizes(MAX_QUERY_LENGTH), strict=True)]
        assert _within(times, 0.5), (name, times)
