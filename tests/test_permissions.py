"""portal/permissions.py, driven through a table: each row is one question a page, the API or the
command line asks (a permission, an actor, an object) and the answer the rules of the house give."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from portal import permissions as p
from portal.vocabulary import Classification as C
from portal.vocabulary import Role as R

CUSTOMS = SimpleNamespace(id=1, slug="nz-customs", kind="government", sector="customs", country="NZ")
POLICE_WS = SimpleNamespace(id=2, slug="ws-police", kind="pacific", sector="police", country="WS")
BANK = SimpleNamespace(id=3, slug="harbour-bank", kind="private", sector="banking", country="NZ")
PEER = SimpleNamespace(id=4, slug="kowhai-bank", kind="private", sector="banking", country="NZ")
PORT = SimpleNamespace(id=5, slug="port-tamaki", kind="private", sector="ports", country="NZ")
_ids = iter(range(100, 1000))


def person(org, *roles: R, clearance: C = C.IN_CONFIDENCE, active: bool = True) -> SimpleNamespace:
    return SimpleNamespace(id=next(_ids), organisation=org, organisation_id=org.id, roles=frozenset(roles),
                           clearance=clearance, may_read=active)


ADMIN = person(CUSTOMS, R.ADMIN)
AUDITOR = person(CUSTOMS, R.AUDITOR)
TAMA = person(CUSTOMS, R.ORG_ADMIN, clearance=C.SENSITIVE)  # org-admin of the hosting organisation
HEMI = person(CUSTOMS, R.VIEWER)
CLEARED = person(CUSTOMS, R.VIEWER, clearance=C.RESTRICTED)
OTHER_ADMIN = person(CUSTOMS, R.ORG_ADMIN, clearance=C.SENSITIVE)
GONE = person(CUSTOMS, R.ORG_ADMIN, R.ADMIN, clearance=C.RESTRICTED, active=False)
AROHA = person(CUSTOMS, R.PUBLISHER, clearance=C.RESTRICTED)
WIREMU = person(CUSTOMS, R.PUBLISHER, clearance=C.RESTRICTED)
LOW = person(CUSTOMS, R.PUBLISHER, clearance=C.SENSITIVE)
OLIVIA = person(BANK, R.ORG_ADMIN)
BEN = person(BANK, R.SUBMITTER)
PRIYA = person(BANK, R.PUBLISHER)
NADIA = person(CUSTOMS, R.ANALYST, clearance=C.RESTRICTED)
LEO = person(CUSTOMS, R.PUBLISHER)
MALIA = person(POLICE_WS, R.ORG_ADMIN)


def bulletin(classification: C = C.SENSITIVE, approved_by=None, created_by=AROHA) -> SimpleNamespace:
    return SimpleNamespace(author_org_id=CUSTOMS.id, classification=classification, tlp="GREEN",
                           created_by_id=created_by.id, approved_by_id=approved_by and approved_by.id)


def token(owner) -> SimpleNamespace:
    return SimpleNamespace(user_id=owner.id, user=owner)


TABLE = [
    # Class 6: the portal's own accounts are the portal admin's alone.
    ("org-admin manages an ordinary member", p.may_manage_user, (TAMA, HEMI), True),
    ("org-admin manages another org-admin", p.may_manage_user, (TAMA, OTHER_ADMIN), True),
    ("org-admin of the hosting org does not manage the admin", p.may_manage_user, (TAMA, ADMIN), False),
    ("org-admin of the hosting org does not manage the auditor", p.may_manage_user, (TAMA, AUDITOR), False),
    ("org-admin does not manage someone cleared above itself", p.may_manage_user, (TAMA, CLEARED), False),
    ("org-admin does not manage another organisation's member", p.may_manage_user, (OLIVIA, HEMI), False),
    ("a viewer manages nobody", p.may_manage_user, (HEMI, HEMI), False),
    ("a deactivated admin manages nobody", p.may_manage_user, (GONE, HEMI), False),
    ("the portal admin manages the auditor", p.may_manage_user, (ADMIN, AUDITOR), True),
    ("the portal admin manages any organisation's member", p.may_manage_user, (ADMIN, BEN), True),
    ("org-admin grants publisher", p.may_grant_role, (TAMA, R.PUBLISHER), True),
    ("org-admin grants org-admin", p.may_grant_role, (TAMA, R.ORG_ADMIN), True),
    ("org-admin does not grant admin", p.may_grant_role, (TAMA, R.ADMIN), False),
    ("org-admin does not grant auditor", p.may_grant_role, (TAMA, R.AUDITOR), False),
    ("the portal admin grants auditor", p.may_grant_role, (ADMIN, R.AUDITOR), True),
    ("a viewer grants nothing", p.may_grant_role, (HEMI, R.VIEWER), False),
    ("clearance up to one's own", p.may_grant_clearance, (TAMA, C.SENSITIVE), True),
    ("no clearance above one's own", p.may_grant_clearance, (TAMA, C.RESTRICTED), False),
    ("org-admin creates users in its organisation", p.may_create_user_in, (OLIVIA, BANK), True),
    ("org-admin creates no users elsewhere", p.may_create_user_in, (OLIVIA, CUSTOMS), False),
    ("the user pages exist for org-admins", p.may_administer_users, (OLIVIA,), True),
    ("the user pages do not exist for a publisher", p.may_administer_users, (AROHA,), False),
    ("organisations are the portal admin's", p.may_manage_organisations, (ADMIN,), True),
    ("an org-admin manages no organisations", p.may_manage_organisations, (TAMA,), False),
    ("identity providers are registered by the portal admin", p.may_register_identity_provider, (ADMIN,), True),
    ("an org-admin registers no identity provider", p.may_register_identity_provider, (OLIVIA,), False),
    ("one's own token", p.may_revoke_token, (HEMI, token(HEMI)), True),
    ("org-admin revokes a member's token", p.may_revoke_token, (TAMA, token(HEMI)), True),
    ("org-admin does not revoke the admin's token", p.may_revoke_token, (TAMA, token(ADMIN)), False),
    ("org-admin does not revoke another organisation's token", p.may_revoke_token, (OLIVIA, token(HEMI)), False),
    ("a viewer does not revoke a colleague's token", p.may_revoke_token, (HEMI, token(AROHA)), False),
    # Class 3: the two-person rule.
    ("a second, cleared publisher approves", p.may_approve_bulletin, (WIREMU, bulletin(), {AROHA.id}), True),
    ("the writer does not approve", p.may_approve_bulletin, (AROHA, bulletin(), {AROHA.id}), False),
    ("the writer does not approve, even with no record of editors", p.may_approve_bulletin,
     (AROHA, bulletin(), set()), False),
    ("an editor of the pending version does not approve", p.may_approve_bulletin,
     (WIREMU, bulletin(), {AROHA.id, WIREMU.id}), False),
    ("after approval, the first writer may approve another's change", p.may_approve_bulletin,
     (AROHA, bulletin(approved_by=WIREMU), {WIREMU.id}), True),
    ("a publisher not cleared for the version under review does not approve", p.may_approve_bulletin,
     (LOW, bulletin(C.IN_CONFIDENCE, approved_by=WIREMU), {WIREMU.id}, C.RESTRICTED), False),
    ("a publisher cleared for it does", p.may_approve_bulletin,
     (LOW, bulletin(C.IN_CONFIDENCE, approved_by=WIREMU), {WIREMU.id}, C.SENSITIVE), True),
    ("another organisation's publisher does not approve", p.may_approve_bulletin, (PRIYA, bulletin(), set()), False),
    ("an analyst does not approve", p.may_approve_bulletin, (NADIA, bulletin(), set()), False),
    ("a publisher of the author organisation changes it", p.may_change_bulletin, (WIREMU, bulletin()), True),
    ("another organisation's publisher does not", p.may_change_bulletin, (PRIYA, bulletin()), False),
    ("a recipient responds", p.may_respond_to_bulletin, (BEN, bulletin()), True),
    ("the author organisation does not respond to itself", p.may_respond_to_bulletin, (HEMI, bulletin()), False),
    # Class 7: a partner's audience, however it is named.
    ("a bank addresses an agency", p.may_address, (BANK, CUSTOMS), True),
    ("a bank addresses a peer of its sector", p.may_address, (BANK, PEER), True),
    ("a bank does not address a port", p.may_address, (BANK, PORT), False),
    ("a bank does not address a Pacific police service", p.may_address, (BANK, POLICE_WS), False),
    ("an agency addresses anyone", p.may_address, (CUSTOMS, PORT), True),
    ("a bank names its own sector", p.may_address_sector, (BANK, "banking"), True),
    ("a bank does not name another sector", p.may_address_sector, (BANK, "ports"), False),
    ("a bank does not name countries", p.may_address_countries, (BANK,), False),
    ("an agency names countries", p.may_address_countries, (CUSTOMS,), True),
    # The others, moved here unchanged.
    ("a submitter submits reports", p.may_submit_reports, (BEN,), True),
    ("an org-admin submits reports", p.may_submit_reports, (OLIVIA,), True),
    ("a publisher does not submit reports", p.may_submit_reports, (PRIYA,), False),
    ("an analyst of the receiving agency triages", p.may_triage_submission,
     (NADIA, SimpleNamespace(recipient_org_id=CUSTOMS.id, classification=C.SENSITIVE)), True),
    ("a submitter does not triage", p.may_triage_submission,
     (BEN, SimpleNamespace(recipient_org_id=BANK.id, classification=C.SENSITIVE)), False),
    ("an analyst not cleared for a report is not assigned it", p.may_be_assigned_submission,
     (person(CUSTOMS, R.ANALYST), SimpleNamespace(recipient_org_id=CUSTOMS.id, classification=C.SENSITIVE)), False),
    ("an NZ agency's publisher issues deportee notifications", p.may_issue_deportee_notification, (LEO,), True),
    ("a bank's publisher does not", p.may_issue_deportee_notification, (PRIYA,), False),
    ("a Pacific agency does not", p.may_issue_deportee_notification, (person(POLICE_WS, R.PUBLISHER),), False),
    ("a receiving organisation acknowledges", p.may_receive_deportee_notification,
     (MALIA, SimpleNamespace(recipients=[SimpleNamespace(organisation_id=POLICE_WS.id)])), True),
    ("the issuer does not acknowledge its own", p.may_receive_deportee_notification,
     (LEO, SimpleNamespace(recipients=[SimpleNamespace(organisation_id=POLICE_WS.id)])), False),
    ("an agency's viewer has deportee notifications in its menu", p.may_use_deportee_notifications, (HEMI,), True),
    ("a Pacific agency's officer does", p.may_use_deportee_notifications, (MALIA,), True),
    ("a bank's risk officer does not", p.may_use_deportee_notifications, (BEN,), False),
    ("a port's org-admin does not", p.may_use_deportee_notifications, (person(PORT, R.ORG_ADMIN),), False),
    ("an agency's analyst requests information", p.may_request_information, (NADIA,), True),
    ("a bank does not", p.may_request_information, (person(BANK, R.ANALYST),), False),
    ("the holder answers", p.may_answer_information_request,
     (BEN, SimpleNamespace(holder_org_id=BANK.id, requesting_org_id=CUSTOMS.id)), True),
    ("a viewer of the holder does not", p.may_answer_information_request,
     (person(BANK, R.VIEWER), SimpleNamespace(holder_org_id=BANK.id, requesting_org_id=CUSTOMS.id)), False),
    ("a partner's org-admin starts a self-assessment", p.may_start_self_assessment, (OLIVIA,), True),
    ("an agency's org-admin does not", p.may_start_self_assessment, (TAMA,), False),
    ("webhooks are org-admins'", p.may_manage_webhooks, (OLIVIA,), True),
    ("dead letters are the portal admin's", p.may_manage_dead_letters, (TAMA,), False),
]


@pytest.mark.parametrize("question, permission, arguments, expected", TABLE, ids=[row[0] for row in TABLE])
def test_class_org_admin_manages_portal_accounts_permission_functions_table(question, permission, arguments,
                                                                            expected):
    assert permission(*arguments) is expected, question
