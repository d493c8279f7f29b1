"""Who may act on what: the one place that decides, beside the read policy (``portal/policy.py``).

Each permission is a named function of (actor, object) that answers True or False, so that a page,
an API route, a CLI command and a template ask the same question and a rule is written once
(pretix names each permission; Indico asks the object ``can_manage(user, permission)``). Services
call these and raise :class:`portal.problems.NotAllowed` (403) when one answers False; reading is
still decided by the policy first, so what an actor may not read stays absent (404).

``tests/test_permissions.py`` drives every function here through a table of actors and objects.
"""
from __future__ import annotations

from typing import Any, Collection

from sqlalchemy import ColumnElement, and_, exists, false, or_, true

from portal import policy
from portal.accounts.models import User, UserRole
from portal.organisations.models import Organisation
from portal.vocabulary import Classification, OrganisationKind, Role

#: The portal's own accounts: only a portal administrator manages them or grants these roles.
PORTAL_ROLES = frozenset({Role.ADMIN, Role.AUDITOR})


def _active(actor: Any) -> bool:
    return bool(actor is not None and actor.may_read)


def _government(org: Any) -> bool:
    return org.kind == OrganisationKind.GOVERNMENT.value


# --- Users, roles, organisations, identity providers, tokens ---------------------------------

def is_portal_admin(actor: Any) -> bool:
    return _active(actor) and Role.ADMIN in actor.roles


def is_portal_account(subject: Any) -> bool:
    """An ``admin`` or ``auditor`` account: the portal's own, whatever organisation hosts it."""
    return bool(subject.roles & PORTAL_ROLES)


def may_administer_users(actor: Any) -> bool:
    """Whether the user pages exist for the actor at all (a portal admin, or an org-admin)."""
    return _active(actor) and bool(actor.roles & {Role.ADMIN, Role.ORG_ADMIN})


def _ordinary_member_of_own_org(actor: Any, subject: Any) -> bool:
    return subject.organisation_id == actor.organisation_id and not is_portal_account(subject)


def may_manage_user(actor: Any, subject: Any) -> bool:
    """Change a user's name, roles, clearance, language or state (deactivate, approve).

    A portal admin manages everyone. An org-admin manages only ordinary members of its own
    organisation cleared no higher than itself: never an ``admin`` or ``auditor`` account, even
    one its organisation hosts."""
    if is_portal_admin(actor):
        return True
    return (_active(actor) and Role.ORG_ADMIN in actor.roles and _ordinary_member_of_own_org(actor, subject)
            and subject.clearance <= actor.clearance)


def may_reset_second_factor(actor: Any, subject: Any) -> bool:
    """Reset a member's authenticator app and recovery codes (they lost both): whoever manages them
    (:func:`may_manage_user`), never for themselves (a person replaces their own from the profile)."""
    return may_manage_user(actor, subject) and actor.id != subject.id


def ordinary_members_of_own_org(actor: Any) -> ColumnElement[bool]:
    """SQL criterion on ``User``: the actor's organisation's members, less the portal's own accounts."""
    portal_account = exists().where(UserRole.user_id == User.id,
                                    UserRole.role.in_([r.value for r in PORTAL_ROLES]))
    return and_(User.organisation_id == actor.organisation_id, ~portal_account)


def manageable_users(actor: Any) -> ColumnElement[bool]:
    """SQL criterion on ``User`` restating :func:`may_manage_user` (lists and look-ups)."""
    if is_portal_admin(actor):
        return true()
    if not (_active(actor) and Role.ORG_ADMIN in actor.roles):
        return false()
    return and_(ordinary_members_of_own_org(actor), User.clearance <= int(actor.clearance))


def may_create_user_in(actor: Any, organisation: Any) -> bool:
    return is_portal_admin(actor) or (_active(actor) and Role.ORG_ADMIN in actor.roles
                                      and organisation.id == actor.organisation_id)


def may_add_address(actor: Any, email: str, organisation_domains: set[str]) -> bool:
    """A portal admin adds any address; an org-admin only addresses at its organisation's own
    domains (those of its members and of its identity providers). Addresses are unique across the
    portal, so "already exists" would otherwise tell an org-admin which addresses other
    organisations' people have."""
    if is_portal_admin(actor):
        return True
    return email.rsplit("@", 1)[-1].lower() in organisation_domains


def may_grant_role(actor: Any, role: Role) -> bool:
    """``admin`` and ``auditor`` are granted by a portal admin alone; org-admins grant the others."""
    if is_portal_admin(actor):
        return True
    return _active(actor) and Role.ORG_ADMIN in actor.roles and role not in PORTAL_ROLES


def may_grant_clearance(actor: Any, clearance: Classification) -> bool:
    """Nobody grants a clearance above their own."""
    return _active(actor) and clearance <= actor.clearance


def may_manage_organisations(actor: Any) -> bool:
    return is_portal_admin(actor)


def may_register_identity_provider(actor: Any) -> bool:
    return is_portal_admin(actor)


def may_manage_deportee_routes(actor: Any) -> bool:
    return is_portal_admin(actor)


def may_manage_dead_letters(actor: Any) -> bool:
    return is_portal_admin(actor)


def may_manage_webhooks(actor: Any) -> bool:
    return _active(actor) and Role.ORG_ADMIN in actor.roles


def may_see_org_tokens(actor: Any) -> bool:
    """Org-admins see (and may revoke) the tokens of their organisation's ordinary members."""
    return _active(actor) and Role.ORG_ADMIN in actor.roles


def may_revoke_token(actor: Any, token: Any) -> bool:
    """A token's own user, or an org-admin of the user's organisation — not for the portal's own
    accounts, which only they themselves (or a portal admin, by deactivating them) can cut off."""
    if not _active(actor):
        return False
    if token.user_id == actor.id:
        return True
    return may_see_org_tokens(actor) and _ordinary_member_of_own_org(actor, token.user)


# --- Translations ------------------------------------------------------------------------------

#: Whose members may be named translators: Pacific agencies and New Zealand government agencies,
#: whose officers speak the portal's Pacific languages and Māori at work.
TRANSLATOR_ORGANISATION_KINDS = frozenset({OrganisationKind.PACIFIC.value, OrganisationKind.GOVERNMENT.value})


def may_be_translator(subject: Any) -> bool:
    return subject.organisation.kind in TRANSLATOR_ORGANISATION_KINDS


def may_grant_translator(actor: Any, subject: Any) -> bool:
    """Name a member translator for some languages: whoever manages the member (their org-admin, or a
    portal admin), when the member's organisation is a Pacific or NZ government one."""
    return may_manage_user(actor, subject) and may_be_translator(subject)


def may_suggest_wording(actor: Any, language: str, granted: Collection[str]) -> bool:
    """Suggest or confirm wordings in ``language``: a translator for it (``granted``: the actor's
    translator languages), still a member of a Pacific or NZ government organisation."""
    return _active(actor) and may_be_translator(actor) and language in granted


def may_review_wordings(actor: Any) -> bool:
    """Accept or reject suggested wordings, which then speak for the portal: a portal admin."""
    return is_portal_admin(actor)


# --- Bulletins --------------------------------------------------------------------------------

def may_write_bulletins(actor: Any) -> bool:
    return _active(actor) and Role.PUBLISHER in actor.roles


def may_change_bulletin(actor: Any, bulletin: Any) -> bool:
    """Amend, withdraw, attach files: a publisher of the author organisation."""
    return may_write_bulletins(actor) and actor.organisation_id == bulletin.author_org_id


def may_review_bulletin(actor: Any, bulletin: Any) -> bool:
    """See the review queue's items and send one back: a publisher of the author organisation."""
    return may_change_bulletin(actor, bulletin)


def may_approve_bulletin(actor: Any, bulletin: Any, editors: set[int] | frozenset[int] = frozenset(),
                         classification: Classification | None = None) -> bool:
    """The two-person rule: a publisher of the author organisation, cleared for the version under
    review (``classification``, when it differs from the bulletin's), who changed nothing in it
    (``editors``: everyone who wrote or changed that version)."""
    if not may_review_bulletin(actor, bulletin) or actor.id in editors:
        return False
    if bulletin.approved_by_id is None and actor.id == bulletin.created_by_id:
        return False  # never reviewed: its writer is an editor of it, whatever the records say
    needed = max(bulletin.classification, classification or bulletin.classification)
    return actor.clearance >= needed


def may_respond_to_bulletin(actor: Any, bulletin: Any) -> bool:
    """Acknowledge, rate, ask, report a sighting: a recipient, not the author organisation."""
    return _active(actor) and actor.organisation_id != bulletin.author_org_id


def may_address(author_org: Any, organisation: Any) -> bool:
    """Partners share with government agencies and with peers of their own sector; agencies with
    anyone. Holds for every way of naming an audience: organisations, sectors and named people."""
    return _government(author_org) or _government(organisation) or organisation.sector == author_org.sector


def addressable_organisations(author_org: Any) -> ColumnElement[bool]:
    """SQL criterion on ``Organisation`` restating :func:`may_address`."""
    if _government(author_org):
        return true()
    return or_(Organisation.kind == OrganisationKind.GOVERNMENT.value, Organisation.sector == author_org.sector)


def may_address_sector(author_org: Any, sector: str) -> bool:
    """A partner may name only its own sector as a whole."""
    return _government(author_org) or sector == author_org.sector


def may_address_countries(author_org: Any) -> bool:
    return _government(author_org)


# --- Suspicious-activity reports ---------------------------------------------------------------

def may_submit_reports(actor: Any) -> bool:
    return _active(actor) and bool(actor.roles & {Role.SUBMITTER, Role.ORG_ADMIN})


def may_triage_submission(actor: Any, submission: Any) -> bool:
    """Triage, assign, note, give feedback: analysts of the receiving agency."""
    return _active(actor) and Role.ANALYST in actor.roles and actor.organisation_id == submission.recipient_org_id


def may_be_assigned_submission(subject: Any, submission: Any) -> bool:
    """Who a report may be assigned to: an active analyst of the agency cleared to read it."""
    return may_triage_submission(subject, submission) and subject.clearance >= submission.classification


# --- Deportee notifications --------------------------------------------------------------------

def may_issue_deportee_notification(actor: Any) -> bool:
    """Publishers of a New Zealand government agency."""
    org = actor.organisation
    return (_active(actor) and Role.PUBLISHER in actor.roles and _government(org) and org.country == "NZ")


def may_use_deportee_notifications(actor: Any) -> bool:
    """Whose menu offers deportee notifications: government agencies (which issue them) and Pacific
    agencies and regional centres (which receive them). A private organisation is never routed one."""
    return _active(actor) and actor.organisation.kind in (OrganisationKind.GOVERNMENT.value,
                                                           OrganisationKind.PACIFIC.value)


def may_receive_deportee_notification(actor: Any, notification: Any) -> bool:
    """Acknowledge or post an update: a member of a receiving organisation."""
    return _active(actor) and any(r.organisation_id == actor.organisation_id for r in notification.recipients)


# --- Requests for information, ratings ---------------------------------------------------------

#: Roles of a holding organisation that answer a request for information.
ANSWERING_ROLES = frozenset({Role.SUBMITTER, Role.PUBLISHER, Role.ANALYST, Role.ORG_ADMIN})


def may_request_information(actor: Any) -> bool:
    """Agencies ask: analysts and publishers of government organisations."""
    return bool(_active(actor) and _government(actor.organisation) and actor.roles & {Role.ANALYST, Role.PUBLISHER})


def may_answer_information_request(actor: Any, request: Any) -> bool:
    return bool(_active(actor) and actor.organisation_id == request.holder_org_id and actor.roles & ANSWERING_ROLES)


def may_clarify_information_request(actor: Any, request: Any) -> bool:
    return actor.organisation_id == request.requesting_org_id and may_request_information(actor)


def may_start_self_assessment(actor: Any) -> bool:
    return _active(actor) and Role.ORG_ADMIN in actor.roles and not _government(actor.organisation)


def may_edit_self_assessment(actor: Any, assessment: Any) -> bool:
    return (_active(actor) and actor.organisation_id == assessment.organisation_id and Role.ORG_ADMIN in actor.roles
            and assessment.status == "draft")


def may_assess(actor: Any) -> bool:
    return policy.is_assessor(actor)


# --- Scorecards' consequences ------------------------------------------------------------------

def may_see_accountability_report(actor: Any) -> bool:
    """The quarterly accountability report (every organisation's scores, trend, target): oversight
    and procurement users, and portal admins (it holds scores, no content)."""
    return bool(_active(actor) and (policy.is_oversight(actor) or Role.ADMIN in actor.roles))


def may_see_procurement_eligibility(actor: Any) -> bool:
    """Every partner's procurement eligibility and its reason: the same people."""
    return may_see_accountability_report(actor)
