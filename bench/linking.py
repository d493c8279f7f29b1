"""Linked records at 200,000 stored subjects.

Bulk-loads reports (not through the API) whose subjects — people with birth dates and aliases,
accounts, phones, e-mails, vessels — add up to ``--subjects``, spread over 20 submitting banks and
three agencies. Then, in one run, times:

- finding the links of a new report (4 subjects: a person with a misspelt name, an account written
  another way, a phone, an e-mail), as the report page does it for an FIU analyst — identifier
  matches, the birth-date block with fuzzy name comparison, bulletin indicators, the access policy;
- a plain indexed lookup of one identifier (``kind = ? AND value = ?``) on the same table.

Target: the links in well under a second. Prints the median and p95 of each and their ratio.

    .venv/bin/python bench/linking.py [--subjects 200000] [--runs 50] [--database-url URL]
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FIRST = ("Sione Mele Tavita Losa Ana Viliami Ioane Malia Tevita Lupe Filipo Salote Pita Elisapeta Mosese Hana "
         "John Mary David Aroha Wiremu Mere Hemi Priya Wei Mohammed Olga Ivan").split()
LAST = ("Taufa Havili Faleolo Leota Tuilagi Finau Hopoate Vaipulu Ngata Walker Smith Chen Patel Kumar Ali "
        "Petrov Tupou Fonua Latu Sapolu Ioane Brown Wilson").split()


def build(url: str, workdir: Path, subjects: int):
    from flask_migrate import upgrade
    from sqlalchemy import insert

    from app import create_app
    from portal.accounts.models import User
    from portal.accounts.passwords import hash_password
    from portal.extensions import db
    from portal.organisations.models import Organisation
    from portal.submissions.linking import fold_name
    from portal.submissions.models import Submission, SubmissionIdentifier, SubmissionPerson
    from portal.vocabulary import Classification, Role

    app = create_app({"env": "test", "database_url": url, "instance_path": str(workdir), "secret_key": "b" * 48,
                      "audit_key": "a" * 48})
    rng = random.Random(7)
    with app.app_context():
        upgrade()
        agencies = [Organisation(slug=s, name=s, kind="government", sector=sector, country="NZ")
                    for s, sector in (("nz-fiu", "fiu"), ("nz-customs", "customs"), ("nz-police", "police"))]
        banks = [Organisation(slug=f"bank-{n}", name=f"Bank {n}", kind="private", sector="banking", country="NZ")
                 for n in range(20)]
        db.session.add_all(agencies + banks)
        db.session.flush()
        analyst = User(email="analyst@fiu.example", organisation_id=agencies[0].id,
                       clearance=Classification.RESTRICTED, password_hash=hash_password("bench password 2026"))
        analyst.set_roles({Role.ANALYST})
        db.session.add(analyst)
        db.session.commit()

        reports = subjects // 4  # four subjects each
        now = dt.datetime.now(dt.timezone.utc)
        batch = 5000
        for start in range(0, reports, batch):
            rows, identifiers, people = [], [], []
            for n in range(start, min(start + batch, reports)):
                sid = n + 1
                rows.append({"id": sid, "reference": f"SAR-2026-{sid:07d}", "submitting_org_id": rng.choice(banks).id,
                             "recipient_org_id": rng.choice(agencies).id, "classification": rng.randint(0, 3),
                             "status": "received", "narrative": "bench", "submitted_at": now, "content": {},
                             "content_hash": "0" * 64})
                born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(20000))
                name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
                people.append({"submission_id": sid, "subject": "p1", "date_of_birth": born,
                               "name_key": fold_name(name)})
                identifiers += [
                    {"submission_id": sid, "subject": "a1", "kind": "account",
                     "value": f"NZ:{rng.randrange(1, 40):02d}-{rng.randrange(9999):04d}-{rng.randrange(10**7):07d}-000"},
                    {"submission_id": sid, "subject": "t1", "kind": "phone", "value": f"+6421{rng.randrange(10**7):07d}"},
                    {"submission_id": sid, "subject": "m1", "kind": "email", "value": f"user{sid}@mail.example"},
                ]
            db.session.execute(insert(Submission), rows)
            db.session.execute(insert(SubmissionPerson), people)
            db.session.execute(insert(SubmissionIdentifier), identifiers)
            db.session.commit()
        # the reports the new one should find
        db.session.execute(insert(SubmissionIdentifier), [
            {"submission_id": 11, "subject": "a1", "kind": "account", "value": "NZ:12-3456-7890123-000"}])
        db.session.execute(insert(SubmissionPerson), [
            {"submission_id": 12, "subject": "p1", "date_of_birth": dt.date(1987, 3, 14),
             "name_key": fold_name("Sione Taufa")}])
        db.session.commit()
        # the two reports the new one should find are the FIU's, readable by its analyst
        db.session.execute(Submission.__table__.update().where(Submission.id.in_([11, 12]))
                           .values(recipient_org_id=agencies[0].id, classification=1))
        db.session.commit()
        return app, analyst.id, reports


def timed(fn, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(len(values) * 0.95) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subjects", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
        started = time.perf_counter()
        app, analyst_id, reports = build(url, Path(tmp), args.subjects)
        print(f"loaded {reports:,} reports with {reports * 4:,} subjects in {time.perf_counter() - started:.1f} s")
        from sqlalchemy import select

        from portal.accounts.models import User
        from portal.extensions import db
        from portal.submissions.linking import find, fold_name
        from portal.submissions.models import SubmissionIdentifier

        with app.app_context():
            analyst = db.session.get(User, analyst_id)
            identifiers = [("account", "NZ:12-3456-7890123-000"), ("phone", "+64211234567"),
                           ("email", "nobody@mail.example")]
            people = [(dt.date(1987, 3, 14), fold_name("TAWFAʻ, Sione"))]
            links = find(analyst, identifiers, people)
            found = sorted(link.target.id for link in links if link.kind == "submission")
            assert found == [11, 12], found
            link_times = timed(lambda: find(analyst, identifiers, people), args.runs)
            lookup = (select(SubmissionIdentifier.submission_id)
                      .where(SubmissionIdentifier.kind == "account", SubmissionIdentifier.value == identifiers[0][1]))
            plain_times = timed(lambda: db.session.execute(lookup).all(), args.runs)
        med_links, med_plain = statistics.median(link_times), statistics.median(plain_times)
        print(f"links of a new report:   median {med_links * 1000:8.2f} ms   p95 {p95(link_times) * 1000:8.2f} ms")
        print(f"plain indexed lookup:    median {med_plain * 1000:8.2f} ms   p95 {p95(plain_times) * 1000:8.2f} ms")
        print(f"ratio links / lookup:    {med_links / med_plain:.1f}x   (target: links well under 1 s: "
              f"{'met' if p95(link_times) < 0.25 else 'NOT met'} at p95 < 250 ms)")


if __name__ == "__main__":
    main()
