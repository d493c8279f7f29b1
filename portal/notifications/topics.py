"""The topics messages can be about, each tied to the one access policy.

``addressed_to`` is whom the content is *for* (e.g. a bulletin's audience), which is narrower than
everyone who may read it; ``readable`` is the policy predicate, checked again at send time.
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sqlalchemy import or_, select

from portal import policy
from portal.accounts import notices
from portal.accounts.models import User, UserRole
from portal.bulletins.models import Bulletin
from portal.deportees.models import DeporteeNotification, DeporteeNotificationRecipient
from portal.extensions import db
from portal.i18n import lazy_gettext as _l
from portal.organisations.models import Organisation
from portal.outbox import OutboxMessage, Subject, register_event, register_topic
from portal.ratings.models import Assessment
from portal.rfis.models import InformationRequest
from portal.scorecards.topics import register as register_scorecards
from portal.submissions.models import Submission
from portal.vocabulary import COUNTRY_TIME_ZONES, Classification, Role


def _active_users():
    return select(User).join(Organisation).where(User.active.is_(True), User.pending.is_(False),
                                                  Organisation.active.is_(True))


def _narrow(statement, message: OutboxMessage):
    wanted = message.data.get("recipient_ids")
    return statement.where(User.id.in_(wanted)) if wanted is not None else statement


def _by_id(model, ids: list[str]) -> dict[str, Any]:
    numbers = [int(i) for i in ids if i.isdigit()]
    return {str(row.id): row for row in db.session.scalars(select(model).where(model.id.in_(numbers or [0])))}


class BulletinTopic:
    def load(self, object_id: str) -> Bulletin | None:
        return db.session.get(Bulletin, int(object_id)) if object_id.isdigit() else None

    def load_many(self, object_ids: list[str]) -> dict[str, Bulletin]:
        return _by_id(Bulletin, object_ids)

    def addressed_to(self, bulletin: Bulletin, message: OutboxMessage):
        values = {(a.kind, a.value) for a in bulletin.audience}
        if message.data.get("author_org"):  # e.g. a question or sighting for the author organisation
            return _narrow(_active_users().where(User.organisation_id == bulletin.author_org_id), message)
        if bulletin.tlp == "RED":
            match = User.email.in_([v for k, v in values if k == "user"] or [""])
        else:
            match = or_(Organisation.slug.in_([v for k, v in values if k == "org"] or [""]),
                        Organisation.sector.in_([v for k, v in values if k == "sector"] or [""]),
                        Organisation.country.in_([v for k, v in values if k == "country"] or [""]))
        return _narrow(_active_users().where(match), message)

    def readable(self, user: User, bulletin: Bulletin) -> bool:
        if bulletin.status == "withdrawn":
            # Those it reached are told it was withdrawn, without its content (see describe).
            published = SimpleNamespace(classification=bulletin.classification, tlp=bulletin.tlp, status="published",
                                        author_org_id=bulletin.author_org_id, audience=bulletin.audience)
            return policy.can_read_bulletin(user, published)
        return policy.can_read_bulletin(user, bulletin)

    def describe(self, bulletin: Bulletin) -> Subject:
        if bulletin.status == "withdrawn":
            return Subject(reference=f"Bulletin {bulletin.id}", path=f"/bulletins/{bulletin.id}",
                           title=str(_l("Bulletin %(id)s has been withdrawn", id=bulletin.id)),
                           classification=bulletin.classification, tlp=bulletin.tlp, org=bulletin.author_org.name)
        return Subject(reference=f"Bulletin {bulletin.id}", path=f"/bulletins/{bulletin.id}", title=bulletin.title,
                       summary=bulletin.summary, classification=bulletin.classification, tlp=bulletin.tlp,
                       org=bulletin.author_org.name)


class SubmissionTopic:
    def load(self, object_id: str) -> Submission | None:
        return db.session.scalar(select(Submission).where(Submission.reference == object_id))

    def load_many(self, object_ids: list[str]) -> dict[str, Submission]:
        rows = db.session.scalars(select(Submission).where(Submission.reference.in_(object_ids or [""])))
        return {row.reference: row for row in rows}

    def addressed_to(self, submission: Submission, message: OutboxMessage):
        if message.data.get("to") == "submitter":  # feedback goes back to the submitting organisation
            roles = select(UserRole.user_id).where(UserRole.role.in_([Role.SUBMITTER.value, Role.ORG_ADMIN.value]))
            statement = _active_users().where(User.organisation_id == submission.submitting_org_id, User.id.in_(roles))
        else:
            analysts = select(UserRole.user_id).where(UserRole.role == Role.ANALYST.value)
            statement = _active_users().where(User.organisation_id == submission.recipient_org_id,
                                              User.id.in_(analysts))
        return _narrow(statement, message)

    def readable(self, user: User, submission: Submission) -> bool:
        return policy.can_read_submission(user, submission)

    def describe(self, submission: Submission) -> Subject:
        # The reference and the content hash only: never the report's content, whatever the channel.
        return Subject(reference=submission.reference, path=f"/submissions/{submission.reference}",
                       title=str(_l("Suspicious-activity report %(ref)s", ref=submission.reference)),
                       classification=submission.classification, org=submission.submitting_org.name,
                       facts=((_l("SHA-256 of the content"), submission.content_hash, None),)
                       if submission.content_hash else ())


class DeporteeNotificationTopic:
    def load(self, object_id: str) -> DeporteeNotification | None:
        return db.session.get(DeporteeNotification, int(object_id)) if object_id.isdigit() else None

    def load_many(self, object_ids: list[str]) -> dict[str, DeporteeNotification]:
        return _by_id(DeporteeNotification, object_ids)

    def addressed_to(self, notification: DeporteeNotification, message: OutboxMessage):
        to, orgs = message.data.get("to"), message.data.get("orgs")
        if to == "issuer":
            return _narrow(_active_users().where(User.organisation_id == notification.issuing_org_id), message)
        routed = select(DeporteeNotificationRecipient.organisation_id).where(
            DeporteeNotificationRecipient.notification_id == notification.id)
        statement = _active_users().where(User.organisation_id.in_(routed))
        if orgs is not None:  # only these receiving organisations (a reminder, an escalation)
            statement = statement.where(User.organisation_id.in_(orgs))
        if to == "admins":
            admins = select(UserRole.user_id).where(UserRole.role == Role.ORG_ADMIN.value)
            statement = statement.where(User.id.in_(admins))
        return _narrow(statement, message)

    def readable(self, user: User, notification: DeporteeNotification) -> bool:
        return policy.can_read_deportee_notification(user, notification)

    def describe(self, notification: DeporteeNotification) -> Subject:
        # Never personal data: only the reference and the arrival, whatever the channel.
        facts: tuple[tuple[Any, Any, Any], ...] = ()
        if notification.arrival_at is not None:
            facts = ((_l("Arrival, local time at destination"), notification.arrival_at,
                      COUNTRY_TIME_ZONES.get(notification.destination_country)),)
        return Subject(reference=notification.reference, path=f"/deportee-notifications/{notification.id}",
                       title=str(_l("Deportee notification %(ref)s", ref=notification.reference)),
                       classification=notification.classification, org=notification.issuing_org.name,
                       facts=facts)


class InformationRequestTopic:
    def load(self, object_id: str):
        return db.session.get(InformationRequest, int(object_id)) if object_id.isdigit() else None

    def load_many(self, object_ids: list[str]) -> dict[str, Any]:
        return _by_id(InformationRequest, object_ids)

    def addressed_to(self, request, message: OutboxMessage):
        org = request.holder_org_id if message.data.get("to") == "holder" else request.requesting_org_id
        return _narrow(_active_users().where(User.organisation_id == org), message)

    def readable(self, user: User, request) -> bool:
        return policy.can_read_information_request(user, request)

    def describe(self, request) -> Subject:
        # The reference only: the subject of a request may itself be sensitive.
        return Subject(reference=request.reference, path=f"/requests/{request.id}",
                       title=str(_l("Request for information %(ref)s", ref=request.reference)),
                       classification=request.classification, org=request.requesting_org.name,
                       facts=((_l("Due"), request.due_at, "day"),))  # a day, not an instant


class AssessmentTopic:
    """A partner's resilience assessment: its org admins hear of reassessment."""

    def load(self, object_id: str):
        return db.session.get(Assessment, int(object_id)) if object_id.isdigit() else None

    def load_many(self, object_ids: list[str]) -> dict[str, Any]:
        return _by_id(Assessment, object_ids)

    def addressed_to(self, assessment, message: OutboxMessage):
        admins = select(UserRole.user_id).where(UserRole.role == Role.ORG_ADMIN.value)
        return _narrow(_active_users().where(User.organisation_id == assessment.organisation_id,
                                             User.id.in_(admins)), message)

    def readable(self, user: User, assessment) -> bool:
        return policy.can_read_assessment(user, assessment)

    def describe(self, assessment) -> Subject:
        facts = ((_l("Expires"), assessment.expires_at, "day"),) if assessment.expires_at else ()
        return Subject(reference=f"Assessment {assessment.id}", path="/ratings",
                       title=str(_l("Your resilience rating is due for reassessment")),
                       classification=Classification.UNCLASSIFIED, org=assessment.organisation.name, facts=facts)


class AccountTopic:
    """Events about people's accounts, for their organisation's administrators."""

    def load(self, object_id: str) -> User | None:
        return db.session.get(User, int(object_id)) if object_id.isdigit() else None

    def load_many(self, object_ids: list[str]) -> dict[str, User]:
        return _by_id(User, object_ids)

    def addressed_to(self, subject: User, message: OutboxMessage):
        admins = select(UserRole.user_id).where(UserRole.role == Role.ORG_ADMIN.value)
        return _narrow(_active_users().where(User.organisation_id == subject.organisation_id,
                                             User.id.in_(admins)), message)

    def readable(self, user: User, subject: User) -> bool:
        return user.may_read and (Role.ORG_ADMIN in user.roles and user.organisation_id == subject.organisation_id)

    def describe(self, subject: User) -> Subject:
        return Subject(reference=subject.email, path=f"/admin/users/{subject.id}",
                       title=str(_l("%(email)s needs your attention", email=subject.email)),
                       classification=Classification.UNCLASSIFIED, org=subject.organisation.name)


def register_all() -> None:
    register_topic("bulletin", BulletinTopic())
    register_topic("submission", SubmissionTopic())
    register_topic("deportee_notification", DeporteeNotificationTopic())
    register_topic("user", AccountTopic())
    register_topic("information_request", InformationRequestTopic())
    register_topic("assessment", AssessmentTopic())

    notices.register()
    register_scorecards()
    for event, label in (
        ("bulletin.published", _l("A bulletin is published for you")),
        ("bulletin.amended", _l("A bulletin you received is amended")),
        ("bulletin.withdrawn", _l("A bulletin you received is withdrawn")),
        ("bulletin.answered", _l("Questions and answers on bulletins")),
        ("bulletin.review_requested", _l("A bulletin waits for your approval (two-person rule)")),
        ("submission.received", _l("A suspicious-activity report arrives for your agency")),
        ("submission.feedback", _l("Feedback on your organisation's reports")),
        ("submission.receipt", _l("A receipt for each report you submit")),
        ("deportee.notified", _l("A deportee notification for your agency")),
        ("deportee.updated", _l("Updates and acknowledgements on deportee notifications")),
        ("deportee.reminder", _l("Reminders of deportee arrivals not yet acknowledged")),
        ("deportee.escalated", _l("Deportee notifications still unacknowledged")),
        ("rfi.received", _l("A request for information to your organisation")),
        ("rfi.replied", _l("Answers and questions on requests for information")),
        ("rating.reassess", _l("Your resilience rating is due for reassessment")),
        ("account.pending", _l("Someone is waiting for your approval")),
        ("delivery.failing", _l("An e-mail address or webhook of your organisation keeps failing")),
    ):
        register_event(event, label)


