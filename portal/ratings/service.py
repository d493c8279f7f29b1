"""Resilience ratings: self-assessment with evidence, assessment by a government assessor, tiers with
expiry, and reassessment reminders. The framework (areas, criteria, guidance, evidence items, tiers)
is configuration: ``[resilience]`` in ``config/defaults.toml``."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from portal import permissions
from portal.accounts.models import User
from portal.audit import trail
from portal.config import settings
from portal.extensions import db
from portal.i18n import gettext as _
from portal.organisations.models import Organisation
from portal.outbox import notify
from portal.problems import Conflict, Invalid, NotAllowed
from portal.ratings import schemas
from portal.ratings.models import Assessment, AssessmentAnswer, AssessmentEvidence
from portal.types import utcnow
from portal.vocabulary import OrganisationKind

SCORES = tuple(range(schemas.LOWEST, schemas.HIGHEST + 1))


def _config() -> Any:
    return settings().resilience


def areas() -> list[dict[str, Any]]:
    return [dict(area) for area in _config()["areas"]]


def criteria_codes() -> list[str]:
    return [c["code"] for area in _config()["areas"] for c in area["criteria"]]


def tiers() -> dict[str, dict[str, Any]]:
    return {t["code"]: dict(t) for t in _config()["tiers"]}


def is_partner(org: Organisation) -> bool:
    return org.kind != OrganisationKind.GOVERNMENT.value


may_edit_self = permissions.may_edit_self_assessment


def current_draft(user: User) -> Assessment | None:
    """The organisation's assessment in progress, if any; creates nothing (a page's GET)."""
    if not permissions.may_start_self_assessment(user):
        raise NotAllowed(_("Org admins of partner organisations complete the self-assessment."))
    return db.session.scalar(select(Assessment).where(Assessment.organisation_id == user.organisation_id,
                                                      Assessment.status.in_(["draft", "submitted"])))


def open_draft(user: User) -> Assessment:
    """The organisation's assessment in progress, or a new one (org admins of partners): only when
    something is saved (a POST)."""
    draft = current_draft(user)
    if draft is None:
        draft = Assessment(organisation_id=user.organisation_id, status="draft")
        db.session.add(draft)
        db.session.flush()
        trail.record("assessment.start", "assessment", draft.id, user.organisation.slug, actor=user)
    return draft


def _answer(assessment: Assessment, criterion: str) -> AssessmentAnswer:
    row = assessment.answer(criterion)
    if row is None:
        row = AssessmentAnswer(assessment_id=assessment.id, criterion=criterion)
        assessment.answers.append(row)
    return row


def save_self(assessment: Assessment, user: User, values: dict[str, Any]) -> None:
    if not may_edit_self(user, assessment):
        raise NotAllowed(_("Only your organisation's admins change a draft self-assessment."))
    answers = schemas.per_criterion(schemas.SelfAnswer, values, criteria_codes())
    for code, answer in answers.items():
        row = _answer(assessment, code)
        row.self_score, row.self_comment = answer.score, answer.comment.strip()
    trail.record("assessment.save", "assessment", assessment.id, assessment.organisation.slug, actor=user)


def add_evidence(assessment: Assessment, user: User, criterion: Any, upload: Any) -> AssessmentEvidence:
    if not may_edit_self(user, assessment):
        raise NotAllowed(_("Only your organisation's admins add evidence to a draft self-assessment."))
    criterion = schemas.whole(schemas.EvidenceInput, {"criterion": criterion}).criterion
    if criterion not in criteria_codes():
        raise Invalid({"criterion": [_("Choose the criterion this evidence supports.")]})
    if upload is None or not upload.filename:
        raise Invalid({"file": [_("Choose a file to attach.")]})
    row = AssessmentEvidence.keep(upload, assessment_id=assessment.id, criterion=criterion, uploaded_by_id=user.id)
    db.session.add(row)
    db.session.flush()
    trail.record("assessment.evidence", "assessment", assessment.id, assessment.organisation.slug, actor=user,
                 criterion=criterion, attachment=row.id)
    return row


def submit(assessment: Assessment, user: User) -> None:
    if not may_edit_self(user, assessment):
        raise NotAllowed(_("Only your organisation's admins submit the self-assessment."))
    missing = [c for c in criteria_codes() if (a := assessment.answer(c)) is None or a.self_score is None]
    if missing:
        raise Invalid({f"{c}.score": [_("Score every criterion before submitting.")] for c in missing})
    assessment.status, assessment.submitted_at = "submitted", utcnow()
    trail.record("assessment.submit", "assessment", assessment.id, assessment.organisation.slug, actor=user)


def rate(assessment: Assessment, assessor: User, values: dict[str, Any]) -> None:
    """Score each criterion, write improvement actions, award a tier with an expiry."""
    if not permissions.may_assess(assessor):
        raise NotAllowed(_("Only assessors rate partners."))
    if assessment.status != "submitted":
        raise Conflict(_("Only a submitted self-assessment can be rated."))
    errors: dict[str, list[str]] = {}
    answers: dict[str, schemas.AssessorAnswer] = {}
    rating = schemas.RatingInput()
    try:
        answers = schemas.per_criterion(schemas.AssessorAnswer, values, criteria_codes())
    except Invalid as invalid:
        errors.update(invalid.fields)
    try:
        rating = schemas.whole(schemas.RatingInput, values)
    except Invalid as invalid:
        errors.update(invalid.fields)
    for code, answer in answers.items():
        if answer.assessor_score is None:
            errors[f"{code}.assessor_score"] = [_("Score every criterion.")]
    tier = rating.tier
    if "tier" not in errors and tier not in tiers():
        errors["tier"] = [_("Choose a tier: %(tiers)s.", tiers=", ".join(tiers()))]
    if errors:
        raise Invalid(errors)
    for code, answer in answers.items():
        row = _answer(assessment, code)
        row.assessor_score, row.improvement_action = answer.assessor_score, answer.action.strip()
    summary = rating.summary
    now = utcnow()
    months = int(tiers()[tier]["months"])
    assessment.status, assessment.rated_at, assessment.assessor_id = "rated", now, assessor.id
    assessment.tier, assessment.summary = tier, summary.strip()
    assessment.expires_at = now + dt.timedelta(days=round(months * 30.44)) if months else None
    trail.record("assessment.rate", "assessment", assessment.id, assessment.organisation.slug, actor=assessor,
                 tier=tier)


def current_rating(organisation_id: int, now: dt.datetime | None = None) -> Assessment | None:
    now = now or utcnow()
    return db.session.scalar(select(Assessment).where(
        Assessment.organisation_id == organisation_id, Assessment.status == "rated",
        (Assessment.expires_at.is_(None)) | (Assessment.expires_at > now)).order_by(Assessment.rated_at.desc())
        .limit(1))


def current_ratings(now: dt.datetime | None = None) -> dict[int, Assessment]:
    """Every organisation's current (rated, unexpired) assessment, in one query."""
    now = now or utcnow()
    rated = db.session.scalars(select(Assessment).where(
        Assessment.status == "rated", (Assessment.expires_at.is_(None)) | (Assessment.expires_at > now))
        .order_by(Assessment.rated_at)).all()
    return {a.organisation_id: a for a in rated}  # ordered by time: the last one wins


def overview(now: dt.datetime | None = None) -> list[tuple[Organisation, Assessment | None, bool]]:
    """Every partner with its current rating and whether that tier is procurement-eligible."""
    now = now or utcnow()
    partners = db.session.scalars(select(Organisation).where(
        Organisation.kind != OrganisationKind.GOVERNMENT.value, Organisation.active.is_(True))
        .order_by(Organisation.name)).all()
    latest = current_ratings(now)
    table = tiers()
    return [(org, latest.get(org.id), bool(latest.get(org.id) and table.get(latest[org.id].tier or "", {})
                                           .get("procurement_eligible"))) for org in partners]


def remind_reassessment(now: dt.datetime | None = None) -> int:
    """Tell a partner's org admins, once, that its rating expires within ``reassess_reminder_days``."""
    now = now or utcnow()
    horizon = now + dt.timedelta(days=int(_config()["reassess_reminder_days"]))
    due = db.session.scalars(select(Assessment).where(
        Assessment.status == "rated", Assessment.reminded_at.is_(None), Assessment.expires_at.is_not(None),
        Assessment.expires_at <= horizon)).all()
    for assessment in due:
        newer = db.session.scalar(select(Assessment.id).where(
            Assessment.organisation_id == assessment.organisation_id, Assessment.id > assessment.id).limit(1))
        assessment.reminded_at = now
        if newer is None:
            notify("rating.reassess", "assessment", assessment.id)
            trail.record("assessment.remind", "assessment", assessment.id, assessment.organisation.slug)
    return len(due)
