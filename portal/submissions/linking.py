"""Linked records: the other reports, bulletin indicators and deportee notifications that share a
subject with a report, among what the reader may read.

Two kinds of key, both indexed, so finding links costs a few index lookups however many subjects
are stored:

- identifiers, normalised as bulletin indicators are (account, IMO, passport, phone, e-mail, …):
  equal values match;
- people, by date of birth (the indexed block) and then a fuzzy comparison of folded names: case,
  diacritics, punctuation, word order and common transliterations do not matter, and small
  spelling differences score high enough (rapidfuzz's token-sort ratio).
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import and_, or_, select

from portal import policy
from portal.bulletins.models import Bulletin, BulletinIndicator
from portal.deportees import linking as deportee_linking
from portal.extensions import db
from portal.submissions.models import Submission, SubmissionIdentifier, SubmissionPerson

#: A name pair scoring at least this (0–100, token-sort ratio of folded names) is the same person.
NAME_THRESHOLD = 85

#: Spellings of one name across transliterations, folded to one.
NAME_VARIANTS = {
    **dict.fromkeys(("mohammed", "mohamed", "mohammad", "muhammed", "mohamad", "muhamad", "mohd"), "muhammad"),
    **dict.fromkeys(("ahmad", "ahmet"), "ahmed"),
    **dict.fromkeys(("yusuf", "yousef", "youssef", "yusef"), "yousuf"),
    **dict.fromkeys(("hussain", "husain", "hussein", "husein"), "hussein"),
    **dict.fromkeys(("aleksandr", "aleksander", "alexandr"), "alexander"),
    **dict.fromkeys(("tavita", "dawit"), "david"),
    **dict.fromkeys(("ioane", "ioani"), "john"),
    **dict.fromkeys(("sione",), "john"),
    **dict.fromkeys(("mele",), "mary"),
}
#: Letter groups written differently across romanisations.
SPELLING = ((re.compile(r"ph"), "f"), (re.compile(r"ck"), "k"), (re.compile(r"kh"), "k"),
            (re.compile(r"(?<=[a-z])y(?=[a-z])"), "i"), (re.compile(r"ou"), "u"), (re.compile(r"([a-z])\1+"), r"\1"))
#: Bulletin indicator type for each identifier kind a report indexes.
BULLETIN_KINDS = {"account": "bank-account", "imo": "vessel-imo", "phone": "phone", "email": "email",
                  "container": "container", "vehicle": "vehicle", "flight": "flight"}
#: The identifier kinds that link reports (a flight number alone is shared by too many).
LINKING_KINDS = ("account", "imo", "passport", "national-id", "driver-licence", "phone", "email", "container",
                 "vehicle", "registration")


def fold_name(name: str) -> str:
    """``"Taufaʻ, SIONE"`` → ``"john taufa"``: the key fuzzy matching compares."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)
                   and unicodedata.category(ch) not in ("Lm", "Sk"))  # ʻokina, modifier apostrophes
    text = re.sub(r"[^\w\s]|_|\d", " ", text.lower())
    words = []
    for word in text.split():
        word = NAME_VARIANTS.get(word, word)
        for pattern, replacement in SPELLING:
            word = pattern.sub(replacement, word)
        words.append(word)
    return " ".join(sorted(words))[:300]


def same_person(a: str, b: str) -> bool:
    return fuzz.token_sort_ratio(a, b) >= NAME_THRESHOLD


def person_keys(subjects: list[dict[str, Any]]) -> list[tuple[str, dt.date, str]]:
    """(subject id, date of birth, folded name) for each name and alias of each person with a birth date."""
    keys = []
    for subject in subjects:
        if subject.get("kind") != "person" or not subject.get("date_of_birth"):
            continue
        born = dt.date.fromisoformat(subject["date_of_birth"])
        for name in list(subject.get("names", [])) + list(subject.get("aliases", [])):
            key = fold_name(name)
            if key:
                keys.append((subject["id"], born, key))
    return sorted(set(keys))


@dataclass
class Link:
    kind: str  # submission | bulletin | deportee_notification
    target: Any
    why: list[str]


def find(reader: Any, identifiers: list[tuple[str, str]], people: list[tuple[dt.date, str]],
         exclude_submission: int | None = None) -> list[Link]:
    """Everything ``reader`` may read that shares an identifier or a person with the given keys."""
    links: dict[tuple[str, Any], Link] = {}

    def add(kind: str, key: Any, target: Any, why: str) -> None:
        link = links.setdefault((kind, key), Link(kind, target, []))
        if why not in link.why:
            link.why.append(why)

    # Two steps each, so that the database starts from the identifier index (a handful of rows)
    # rather than from every report the reader may read.
    wanted = [(k, v) for k, v in identifiers if k in LINKING_KINDS]
    if wanted:
        hits = _rows(select(SubmissionIdentifier.submission_id, SubmissionIdentifier.kind, SubmissionIdentifier.value)
                     .where(or_(*(and_(SubmissionIdentifier.kind == k, SubmissionIdentifier.value == v)
                                  for k, v in wanted)), SubmissionIdentifier.submission_id != (exclude_submission or 0))
                     .limit(500))
        readable = _readable(Submission, policy.submission_readable(reader), {h[0] for h in hits})
        for submission_id, kind, value in hits:
            if submission_id in readable:
                add("submission", submission_id, readable[submission_id], f"{kind}: {value}")
    if people:
        births = sorted({born for born, _key in people})
        statement = (select(Submission, SubmissionPerson.date_of_birth, SubmissionPerson.name_key)
                     .join(SubmissionPerson, SubmissionPerson.submission_id == Submission.id)
                     .where(SubmissionPerson.date_of_birth.in_(births), policy.submission_readable(reader))
                     .limit(1000))
        if exclude_submission is not None:
            statement = statement.where(Submission.id != exclude_submission)
        for submission, born, key in _rows(statement):
            for wanted_born, wanted_key in people:
                if born == wanted_born and same_person(key, wanted_key):
                    add("submission", submission.id, submission, f"person born {born.isoformat()}: {key}")
    bulletin_wanted = [(BULLETIN_KINDS[k], v) for k, v in identifiers if k in BULLETIN_KINDS and k != "flight"]
    if bulletin_wanted:
        hits = _rows(select(BulletinIndicator.bulletin_id, BulletinIndicator.type, BulletinIndicator.value)
                     .where(or_(*(and_(BulletinIndicator.type == k, BulletinIndicator.normalised == v)
                                  for k, v in bulletin_wanted))).limit(500))
        readable = _readable(Bulletin, policy.bulletin_readable(reader), {h[0] for h in hits})
        for bulletin_id, kind, value in hits:
            if bulletin_id in readable:
                add("bulletin", bulletin_id, readable[bulletin_id], f"{kind}: {value}")
    for notification, why in deportee_linking.find(reader, identifiers, people):
        add("deportee_notification", notification.id, notification, why)
    return list(links.values())


def _readable(model: Any, criterion: Any, ids: set[int]) -> dict[int, Any]:
    if not ids:
        return {}
    return {row.id: row for row in db.session.scalars(select(model).where(model.id.in_(ids), criterion))}


def _rows(statement) -> list[Any]:
    return db.session.execute(statement).all()


def for_submission(reader: Any, submission: Submission) -> list[Link]:
    identifiers = [(k, v) for k, v in db.session.execute(
        select(SubmissionIdentifier.kind, SubmissionIdentifier.value)
        .where(SubmissionIdentifier.submission_id == submission.id)).all()]
    people = [(born, key) for born, key in db.session.execute(
        select(SubmissionPerson.date_of_birth, SubmissionPerson.name_key)
        .where(SubmissionPerson.submission_id == submission.id)).all()]
    return find(reader, identifiers, people, exclude_submission=submission.id)
