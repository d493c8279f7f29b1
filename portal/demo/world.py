"""``flask --app app demo load``: organisations, users of every role and clearance, and content.

All people are fictional; e-mail addresses use the reserved ``.example`` domain. The pages show a
"demonstration" banner while this data is loaded.
"""
from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

from sqlalchemy import select

from portal import activity, settings_store
from portal.accounts.models import User
from portal.accounts.passwords import hash_password
from portal.audit import trail
from portal.bulletins.indicators import normalise
from portal.bulletins.models import (
    Bulletin,
    BulletinAcknowledgement,
    BulletinAudience,
    BulletinFeedback,
    BulletinIndicator,
    BulletinMessage,
    BulletinQuestion,
    BulletinTypology,
    BulletinVersion,
)
from portal.deportees import service as deportees
from portal.deportees.models import DeporteeRoute
from portal.extensions import db
from portal.organisations.models import Organisation
from portal.ratings.models import Assessment, AssessmentAnswer
from portal.ratings.service import criteria_codes
from portal.rfis import service as rfis
from portal.sanitise import clean_html
from portal.scorecards import compute
from portal.submissions import service as reports
from portal.submissions.models import Submission
from portal.types import utcnow
from portal.vocabulary import Classification, Role

#: The one password of every demonstration account (documented in README; demo only).
DEMO_PASSWORD = "pacific-demo-2026"

ORGANISATIONS = [
    # slug, name, kind, sector, country
    ("nz-customs", "New Zealand Customs Service", "government", "customs", "NZ"),
    ("nz-police", "New Zealand Police", "government", "police", "NZ"),
    ("nz-fiu", "Financial Intelligence Unit", "government", "fiu", "NZ"),
    ("nz-corrections", "Department of Corrections", "government", "corrections", "NZ"),
    ("nz-immigration", "Immigration New Zealand", "government", "immigration", "NZ"),
    ("nz-tcu", "Transnational Crime Unit", "government", "police", "NZ"),
    ("harbour-bank", "Harbour Bank", "private", "banking", "NZ"),
    ("kowhai-bank", "Kōwhai Bank", "private", "banking", "NZ"),
    ("southern-savings", "Southern Savings Bank", "private", "banking", "NZ"),
    ("port-tamaki", "Port of Tāmaki", "private", "ports", "NZ"),
    ("aotea-airport", "Aotea International Airport", "private", "airports", "NZ"),
    ("moana-freight", "Moana Freight Forwarders", "private", "freight", "NZ"),
    ("ws-police", "Samoa Police Service (demo)", "pacific", "police", "WS"),
    ("to-police", "Tonga Police (demo)", "pacific", "police", "TO"),
    ("fj-police", "Fiji Police Force (demo)", "pacific", "police", "FJ"),
    ("ck-police", "Cook Islands Police Service (demo)", "pacific", "police", "CK"),
    ("pacific-tcc", "Pacific Transnational Crime Coordination Centre (demo)", "pacific", "regional-centre", "WS"),
]

U, IC, S, R = (Classification.UNCLASSIFIED, Classification.IN_CONFIDENCE, Classification.SENSITIVE,
               Classification.RESTRICTED)

USERS = [
    # email, name, org, roles, clearance, language, time zone
    ("admin@portal.example", "Pita Rangi", "nz-customs", ["admin"], IC, "en", "Pacific/Auckland"),
    ("auditor@portal.example", "Kiri Walker", "nz-customs", ["auditor"], IC, "en", "Pacific/Auckland"),
    ("aroha.publisher@customs.example", "Aroha Ngata", "nz-customs", ["publisher"], R, "en", "Pacific/Auckland"),
    ("wiremu.publisher@customs.example", "Wiremu Tane", "nz-customs", ["publisher"], R, "mi", "Pacific/Auckland"),
    ("mere.analyst@customs.example", "Mere Hohaia", "nz-customs", ["analyst"], S, "en", "Pacific/Auckland"),
    ("tama.admin@customs.example", "Tama Parata", "nz-customs", ["org-admin"], S, "en", "Pacific/Auckland"),
    ("hemi.viewer@customs.example", "Hemi Kawa", "nz-customs", ["viewer"], IC, "en", "Pacific/Auckland"),
    ("grace.publisher@police.example", "Grace Liu", "nz-police", ["publisher"], R, "en", "Pacific/Auckland"),
    ("sam.analyst@police.example", "Sam Brown", "nz-police", ["analyst"], R, "en", "Pacific/Auckland"),
    ("nadia.analyst@fiu.example", "Nadia Patel", "nz-fiu", ["analyst"], R, "en", "Pacific/Auckland"),
    ("john.admin@fiu.example", "John Fraser", "nz-fiu", ["org-admin"], R, "en", "Pacific/Auckland"),
    ("ruth.publisher@corrections.example", "Ruth Tupou", "nz-corrections", ["publisher"], S, "en", "Pacific/Auckland"),
    ("leo.publisher@immigration.example", "Leo Faleafa", "nz-immigration", ["publisher"], S, "en", "Pacific/Auckland"),
    ("ana.publisher@tcu.example", "Ana Sopoaga", "nz-tcu", ["publisher"], R, "en", "Pacific/Auckland"),
    ("ben.risk@harbourbank.example", "Ben Carter", "harbour-bank", ["submitter"], IC, "en", "Pacific/Auckland"),
    ("priya.publisher@harbourbank.example", "Priya Singh", "harbour-bank", ["publisher", "submitter"], IC, "en", "Pacific/Auckland"),
    ("olivia.admin@harbourbank.example", "Olivia King", "harbour-bank", ["org-admin"], IC, "en", "Pacific/Auckland"),
    ("tom.viewer@harbourbank.example", "Tom Wilson", "harbour-bank", ["viewer"], U, "en", "Pacific/Auckland"),
    ("lucy.risk@kowhaibank.example", "Lucy Chen", "kowhai-bank", ["submitter"], IC, "en", "Pacific/Auckland"),
    ("max.viewer@southernsavings.example", "Max Taylor", "southern-savings", ["viewer"], IC, "en", "Pacific/Auckland"),
    ("rangi.security@porttamaki.example", "Rangi Moana", "port-tamaki", ["submitter", "viewer"], IC, "en", "Pacific/Auckland"),
    ("emma.security@aotea-airport.example", "Emma Scott", "aotea-airport", ["submitter"], IC, "en", "Pacific/Auckland"),
    ("david.compliance@moanafreight.example", "David Fa'amoe", "moana-freight", ["submitter"], U, "en", "Pacific/Auckland"),
    ("sefo.officer@police.ws.example", "Sefo Lemalu", "ws-police", ["viewer"], S, "sm", "Pacific/Apia"),
    ("malia.admin@police.ws.example", "Malia Tuiasosopo", "ws-police", ["org-admin"], S, "sm", "Pacific/Apia"),
    ("sione.officer@police.to.example", "Sione Havili", "to-police", ["viewer"], S, "to", "Pacific/Tongatapu"),
    ("litia.officer@police.fj.example", "Litia Naivalu", "fj-police", ["viewer"], S, "fj", "Pacific/Fiji"),
    ("teina.officer@police.ck.example", "Teina Marsters", "ck-police", ["viewer"], IC, "en", "Pacific/Rarotonga"),
    ("claire.analyst@pacifictcc.example", "Claire Dubois", "pacific-tcc", ["analyst"], S, "fr", "Pacific/Apia"),
]


def load_demo() -> bool:
    """Create the demonstration world once. Returns False if it is already loaded."""
    if settings_store.read(settings_store.DEMO_LOADED):
        return False
    orgs: dict[str, Organisation] = {}
    for slug, name, kind, sector, country in ORGANISATIONS:
        org = db.session.scalar(select(Organisation).where(Organisation.slug == slug))
        if org is None:
            org = Organisation(slug=slug, name=name, kind=kind, sector=sector, country=country)
            db.session.add(org)
        orgs[slug] = org
    db.session.flush()
    password_hash = hash_password(DEMO_PASSWORD)
    users: dict[str, User] = {}
    for email, name, slug, roles, clearance, language, zone in USERS:
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            user = User(email=email, display_name=name, organisation=orgs[slug], clearance=clearance,
                        locale=language, time_zone=zone, password_hash=password_hash)
            user.set_roles({Role(r) for r in roles})
            db.session.add(user)
        users[email] = user
    db.session.flush()
    _content(orgs, users)
    _maturity(orgs, users)
    settings_store.write(settings_store.DEMO_LOADED, True)
    trail.record("demo.load", "portal", source_ip="cli", organisations=len(orgs), users=len(users))
    db.session.commit()
    compute.run(now=utcnow() + dt.timedelta(minutes=5))
    return True


def _maturity(orgs: dict[str, Organisation], users: dict[str, User]) -> None:
    """Some months of recorded activity (as the features record it), a request for information and
    a rated self-assessment, so that scorecards, ratings and the system-health page have content."""
    rng = random.Random(2026)
    habits = {"harbour-bank": (9, 3, 0.8), "kowhai-bank": (4, 30, 0.5), "southern-savings": (1, 70, 0.3),
              "port-tamaki": (6, 8, 0.7), "aotea-airport": (3, 20, 0.6), "moana-freight": (2, 40, 0.4),
              "nz-customs": (12, 4, 0.8), "nz-police": (8, 10, 0.7), "ws-police": (2, 24, 0.6),
              "to-police": (1, 48, 0.5), "pacific-tcc": (3, 12, 0.7)}
    now = utcnow()
    for slug, (shares, hours, useful) in habits.items():
        if slug not in orgs:
            continue
        for months_ago in range(5, -1, -1):
            for _ in range(max(0, shares + rng.randint(-1, 2))):
                at = now - dt.timedelta(days=30 * months_ago + rng.randint(0, 27), hours=rng.randint(1, 20))
                activity.record(orgs[slug].id, "share", at=at)
                activity.record(orgs[slug].id, "rating", 1.0 if rng.random() < useful else 0.0, at=at)
                activity.record(orgs[slug].id, "response", rng.expovariate(1 / hours), at=at)
    request = rfis.create({"holder_org": "harbour-bank", "subject": "Accounts held by Blue Reef Trading Ltd, 2026.",
                           "legal_basis": "Privacy Act 2020, IPP 11(1)(e)(i): avoiding prejudice to the "
                                          "maintenance of the law",
                           "grounds": "Named in two suspicious-activity reports from different banks.",
                           "due": (now + dt.timedelta(days=10)).date().isoformat()},
                          users["mere.analyst@customs.example"])
    db.session.flush()
    del request
    assessment = Assessment(organisation_id=orgs["harbour-bank"].id, status="rated", submitted_at=now,
                            rated_at=now, tier="silver", expires_at=now + dt.timedelta(days=730),
                            summary="Strong governance and reporting; vetting needs a refresh cycle.",
                            assessor_id=users["mere.analyst@customs.example"].id)
    db.session.add(assessment)
    db.session.flush()
    for code in criteria_codes():
        db.session.add(AssessmentAnswer(assessment_id=assessment.id, criterion=code, self_score=3,
                                        self_comment="In place.", assessor_score=2 if code == "per-1" else 3,
                                        improvement_action="Re-vet staff in sensitive roles every two years."
                                        if code == "per-1" else ""))


def _bulletin(org: Organisation, author: User, title: str, summary: str, classification: Classification,
              tlp: str, status: str, audience: dict[str, list[str]], days_ago: int,
              indicators: list[tuple[str, str]] = (), typologies: list[str] = ()) -> Bulletin:
    published = utcnow() - dt.timedelta(days=days_ago)
    bulletin = Bulletin(author_org=org, created_by_id=author.id, title=title, summary=summary,
                        body_html=clean_html(summary), classification=classification, tlp=tlp, status=status,
                        published_at=published if status == "published" else None,
                        expires_at=published + dt.timedelta(days=180))
    for kind, values in audience.items():
        for value in values:
            bulletin.audience.append(BulletinAudience(kind=kind, value=value))
    bulletin.indicators = [BulletinIndicator(type=k, value=v, normalised=normalise(k, v), position=i)
                           for i, (k, v) in enumerate(indicators)]
    bulletin.typologies = [BulletinTypology(code=c) for c in typologies]
    db.session.add(bulletin)
    db.session.flush()
    db.session.add(BulletinVersion(bulletin_id=bulletin.id, version=1, title=title, summary=summary,
                                   body_html=bulletin.body_html, created_by_id=author.id))
    return bulletin


def _content(orgs: dict[str, Organisation], users: dict[str, User]) -> None:
    customs, police, bank = orgs["nz-customs"], orgs["nz-police"], orgs["harbour-bank"]
    aroha = users["aroha.publisher@customs.example"]
    fish = _bulletin(customs, aroha, "Methamphetamine concealed in frozen-fish containers via transhipment",
                     "Reefer containers transhipped through a third port show altered seal numbers and weight "
                     "discrepancies. Check container weights against manifests on arrival.",
                     IC, "AMBER", "published",
                     {"sector": ["ports", "freight"], "org": ["nz-police"], "country": ["WS", "TO", "FJ"]}, 12,
                     indicators=[("container", "CSQU3054383"), ("vessel-imo", "IMO 9074729")],
                     typologies=["drug-importation"])
    cash = _bulletin(customs, aroha, "Cash structuring below the reporting threshold at remittance agents",
                     "Deposits of NZD 9,000–9,900 across several branches on the same day, followed by "
                     "international transfers to newly opened accounts.", IC, "GREEN", "published",
                     {"sector": ["banking", "remittance"]}, 9,
                     indicators=[("bank-account", "12-3456-7890123-00")], typologies=["money-laundering"])
    _bulletin(customs, aroha, "Firearm parts declared as machine spares",
              "Consignments of 'pump components' from a new consignor match receiver and trigger-group "
              "dimensions. Review before release.", S, "AMBER", "pending-review", {"sector": ["ports", "freight"],
                                                                                   "org": ["nz-police"]}, 0,
              typologies=["firearms"])
    _bulletin(police, users["grace.publisher@police.example"],
              "Gang chapter establishing supply lines through Tongatapu",
              "Deported members are re-establishing contacts; watch for small-parcel importations "
              "addressed to newly registered businesses.", S, "AMBER+STRICT", "published",
              {"org": ["to-police", "pacific-tcc", "nz-customs"]}, 6)
    _bulletin(customs, aroha, "Suspected insider facilitating container release",
              "A named individual is suspected of releasing containers before inspection. Named "
              "recipients only.", S, "RED", "published",
              {"user": ["rangi.security@porttamaki.example", "sam.analyst@police.example"]}, 3)
    _bulletin(customs, aroha, "Illicit tobacco: under-declared cigarette consignments (draft)",
              "Working draft, not yet published.", IC, "AMBER", "draft", {"sector": ["freight"]}, 1)
    _bulletin(bank, users["priya.publisher@harbourbank.example"],
              "Money-mule recruitment through social-media job advertisements",
              "Young customers receiving and forwarding funds for 'payment processing' roles advertised "
              "online. Accounts opened within the past 60 days.", U, "GREEN", "published",
              {"org": ["nz-fiu", "nz-police"], "sector": ["banking"]}, 2,
              indicators=[("domain", "quick-payroll-jobs.example")], typologies=["money-laundering",
                                                                                 "cyber-enabled-fraud"])
    # Partners answering: an acknowledgement, a rating, a private question and its answer.
    ben, rangi = users["ben.risk@harbourbank.example"], users["rangi.security@porttamaki.example"]
    db.session.add(BulletinAcknowledgement(bulletin_id=cash.id, organisation_id=bank.id, user_id=ben.id))
    db.session.add(BulletinFeedback(bulletin_id=cash.id, organisation_id=bank.id, user_id=ben.id,
                                    rating="useful", comment="Matched two customers; reported to the FIU."))
    db.session.add(BulletinAcknowledgement(bulletin_id=fish.id, organisation_id=orgs["port-tamaki"].id,
                                           user_id=rangi.id))
    question = BulletinQuestion(bulletin_id=fish.id, asking_org_id=orgs["port-tamaki"].id)
    db.session.add(question)
    db.session.flush()
    db.session.add(BulletinMessage(question_id=question.id, author_id=rangi.id, author_org_id=orgs["port-tamaki"].id,
                                   body="Which shipping lines have been used so far?"))
    db.session.add(BulletinMessage(question_id=question.id, author_id=aroha.id, author_org_id=customs.id,
                                   body="Two so far; we will name them to your security manager by phone."))

    def submission(by: str, days_ago: int, data: dict) -> Submission:
        report, _ = reports.submit(data, users[by])
        report.submitted_at = report.status_changed_at = utcnow() - dt.timedelta(days=days_ago)
        report.content_hash = reports.content_hash(report)
        return report

    taufa = {"id": "p1", "kind": "person", "names": ["Sione Taufa"], "date_of_birth": "1987-03-14",
             "nationality": "TO", "documents": [{"type": "passport", "number": "T1234567", "country": "TO"}]}
    first = submission("ben.risk@harbourbank.example", 8, {
        "recipient_org": "nz-fiu", "classification": "IN-CONFIDENCE", "typologies": ["money-laundering"],
        "narrative": "Customer made eleven cash deposits just under NZD 10,000 in five days, then moved the "
                     "funds to a trading company's account the same week.",
        "subjects": [taufa, {"id": "a1", "kind": "account", "institution": "Harbour Bank",
                             "number": "12-3456-7890123-00", "holder": "Sione Taufa"},
                     {"id": "e1", "kind": "entity", "name": "Blue Reef Trading Ltd",
                      "registration_number": "6543210", "country": "NZ"}],
        "transactions": [{"date": "2026-10-01", "amount": "9500.00", "currency": "NZD", "to": "a1", "method": "cash"},
                         {"date": "2026-10-02", "amount": "9800.00", "currency": "NZD", "to": "a1", "method": "cash"},
                         {"date": "2026-10-06", "amount": "19000.00", "currency": "NZD", "from": "a1", "to": "e1",
                          "method": "electronic-transfer"}]})
    submission("rangi.security@porttamaki.example", 5, {
        "recipient_org": "nz-customs", "classification": "IN-CONFIDENCE", "typologies": ["drug-importation"],
        "narrative": "Container repeatedly re-booked to a different vessel at short notice.",
        "subjects": [{"id": "c1", "kind": "container", "number": "CSQU3054383"},
                     {"id": "v1", "kind": "vessel", "name": "Moana Star", "imo": "IMO 9074729"}]})
    submission("lucy.risk@kowhaibank.example", 2, {
        "recipient_org": "nz-fiu", "classification": "IN-CONFIDENCE", "typologies": ["money-laundering"],
        "narrative": "Business account receiving many small transfers from unrelated individuals; one sender "
                     "matches a customer another bank may know.",
        "subjects": [{"id": "p1", "kind": "person", "names": ["TAUFA, Sione"], "date_of_birth": "1987-03-14"},
                     {"id": "e1", "kind": "entity", "name": "Blue Reef Trading Ltd", "registration_number": "6543210",
                      "country": "NZ"}]})
    nadia = users["nadia.analyst@fiu.example"]
    db.session.flush()
    reports.change_status(first, nadia, "triaged")
    reports.give_feedback(first, nadia, "intelligence-developed",
                          "Thank you. This helped us connect two networks; we cannot say more yet.")

    for country, slugs in {"WS": ["ws-police", "pacific-tcc"], "TO": ["to-police", "pacific-tcc"],
                           "FJ": ["fj-police", "pacific-tcc"], "CK": ["ck-police", "pacific-tcc"]}.items():
        for slug in slugs:
            if slug in orgs:
                db.session.add(DeporteeRoute(country=country, organisation_id=orgs[slug].id))
    db.session.flush()

    def arrival(days: int, hour: int, zone: str) -> str:
        local = (utcnow() + dt.timedelta(days=days)).astimezone(ZoneInfo(zone)).replace(
            hour=hour, minute=30, second=0, microsecond=0)
        return local.isoformat()

    deportees.issue({
        "destination_country": "WS", "classification": "SENSITIVE",
        "person": {"names": ["Tavita Faleolo"], "aliases": ["T-Bone"], "date_of_birth": "1990-05-01", "sex": "M",
                   "nationality": "WS", "documents": [{"type": "passport", "number": "LA123456", "country": "WS"}]},
        "removal": {"flight": "NZ990", "arrival_airport": "APW", "arrival_at": arrival(10, 6, "Pacific/Apia")},
        "offending_summary": "Supply of methamphetamine (2019); served four years of a six-year sentence.",
        "offences": ["Supply of a Class A drug"], "sentences": ["6 years' imprisonment"],
        "gang_affiliation": "Patched member of an Auckland chapter", "risk_level": "medium",
        "risk_notes": "Compliant in custody; links to importers through the gang.",
        "reintegration_needs": "Family in Apia will meet him; needs help finding work.",
        "housing": "With his aunt in Vaitele.", "family_contact": "Aunt, by phone through Samoa Police.",
        "legal_basis": "Memorandum of understanding on the exchange of deportee information (NZ–Samoa, demo)",
    }, users["ruth.publisher@corrections.example"])
    deportees.issue({
        "destination_country": "TO", "classification": "SENSITIVE",
        "person": {"names": ["Viliami Latu"], "date_of_birth": "1985-11-20", "sex": "M", "nationality": "TO",
                   "documents": [{"type": "passport", "number": "TP998877", "country": "TO"}]},
        "removal": {"flight": "NZ970", "arrival_airport": "TBU", "arrival_at": arrival(4, 14, "Pacific/Tongatapu")},
        "offending_summary": "Aggravated robbery (2020).", "risk_level": "low",
        "reintegration_needs": "No family contact yet; health support for diabetes.",
        "legal_basis": "Immigration Act 2009, s 294 (demo)",
    }, users["leo.publisher@immigration.example"])
