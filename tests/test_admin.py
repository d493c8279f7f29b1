"""Admin pages: admin manages everything; org-admin only its own users, never above its clearance."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.accounts.models import User
from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.organisations.models import Organisation
from portal.vocabulary import Classification, Role
from tests.conftest import csrf_from, sign_in


def _form(client, url, **data):
    page = client.get(url)
    assert page.status_code == 200, url
    return client.post(url, data={"csrf_token": csrf_from(page.get_data(as_text=True)), **data})


def _user_data(**overrides):
    data = {"email": "new@bank.example", "display_name": "New Person", "roles": ["viewer"],
            "clearance": "IN-CONFIDENCE", "locale": "en", "time_zone": "Pacific/Auckland", "active": "y"}
    data.update(overrides)
    return data


def test_admin_creates_an_organisation_and_bad_input_changes_nothing(client, world):
    admin = world.user("admin@portal.example", world.org("ops", "government", "customs"), ("admin",))
    sign_in(client, admin)
    bad = _form(client, "/admin/organisations/new", slug="Bad Slug", name="", kind="private", sector="banking",
                country="NZ")
    assert bad.status_code == 400 and "Please fix the following" in bad.get_data(as_text=True)
    assert db.session.scalar(select(Organisation).where(Organisation.slug == "bad slug")) is None
    good = _form(client, "/admin/organisations/new", slug="tonga-customs", name="Tonga Customs",
                 kind="pacific", sector="customs", country="TO")
    assert good.status_code == 302
    assert db.session.scalar(select(Organisation).where(Organisation.slug == "tonga-customs")).country == "TO"
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "organisation.create")) is not None


def test_org_admin_manages_only_its_own_organisation(client, world):
    bank = world.org("bank")
    other = world.org("other-bank")
    org_admin = world.user("oa@bank.example", bank, ("org-admin",), clearance="IN-CONFIDENCE")
    mine = world.user("mine@bank.example", bank)
    theirs = world.user("theirs@other.example", other)
    sign_in(client, org_admin)
    listing = client.get("/admin/users").get_data(as_text=True)
    assert "mine@bank.example" in listing and "theirs@other.example" not in listing
    assert client.get(f"/admin/users/{theirs.id}").status_code == 404
    assert client.get(f"/admin/users/{mine.id}").status_code == 200
    assert client.get("/admin/organisations").status_code == 404


def test_org_admin_cannot_grant_clearance_above_its_own_or_admin_roles(client, world):
    bank = world.org("bank")
    org_admin = world.user("oa@bank.example", bank, ("org-admin",), clearance="IN-CONFIDENCE")
    sign_in(client, org_admin)
    too_high = _form(client, "/admin/users/new", **_user_data(clearance="SENSITIVE", organisation=str(bank.id)))
    assert too_high.status_code == 400
    admin_role = _form(client, "/admin/users/new", **_user_data(roles=["admin"], organisation=str(bank.id)))
    assert admin_role.status_code == 400
    assert db.session.scalar(select(User).where(User.email == "new@bank.example")) is None
    ok = _form(client, "/admin/users/new", **_user_data(roles=["viewer", "submitter"], organisation=str(bank.id)))
    assert ok.status_code == 302
    created = db.session.scalar(select(User).where(User.email == "new@bank.example"))
    assert created.organisation_id == bank.id and created.roles == {Role.VIEWER, Role.SUBMITTER}


def test_org_admin_cannot_create_users_in_another_organisation(client, world):
    bank = world.org("bank")
    other = world.org("other-bank")
    org_admin = world.user("oa@bank.example", bank, ("org-admin",))
    sign_in(client, org_admin)
    response = _form(client, "/admin/users/new", **_user_data(organisation=str(other.id)))
    assert response.status_code in (400, 404)
    assert db.session.scalar(select(User).where(User.email == "new@bank.example")) is None


def test_deactivating_a_user_ends_their_sessions(client, world, app):
    bank = world.org("bank")
    org_admin = world.user("oa@bank.example", bank, ("org-admin",))
    target = world.user("t@bank.example", bank)
    target_client = app.test_client()
    sign_in(target_client, target)
    assert target_client.get("/").status_code == 200
    sign_in(client, org_admin)
    # The active checkbox is absent from the post: the user is deactivated.
    data = _user_data(display_name="T")
    data.pop("active")
    response = _form(client, f"/admin/users/{target.id}", **{k: v for k, v in data.items() if k != "email"})
    assert response.status_code == 302
    db.session.refresh(target)
    assert not target.active
    assert target_client.get("/").status_code == 302


def test_admin_reads_no_content_by_role(client, world):
    from portal.submissions.models import Submission

    bank = world.org("bank")
    fiu = world.org("fiu", "government", "fiu")
    admin = world.user("admin@portal.example", fiu, ("admin",), clearance="RESTRICTED")
    db.session.add(Submission(reference="SAR-2026-000001", submitting_org=bank, recipient_org=fiu,
                              classification=Classification.UNCLASSIFIED))
    db.session.commit()
    sign_in(client, admin)
    assert client.get("/submissions/SAR-2026-000001").status_code == 404
    assert "SAR-2026-000001" not in client.get("/submissions").get_data(as_text=True)


# --- Issue 13, class 6: org-admins can manage the portal's own accounts ------------------------

@pytest.fixture
def hosting(world):
    """The organisation that hosts the portal's admin and auditor, and its own org-admin."""
    customs = world.org("nz-customs", "government", "customs")
    return {
        "customs": customs,
        "admin": world.user("admin@portal.example", customs, ("admin",), clearance="IN-CONFIDENCE"),
        "auditor": world.user("auditor@portal.example", customs, ("auditor",), clearance="IN-CONFIDENCE"),
        "tama": world.user("tama.admin@customs.example", customs, ("org-admin",), clearance="SENSITIVE"),
        "hemi": world.user("hemi.viewer@customs.example", customs, ("viewer",), clearance="IN-CONFIDENCE",
                           display_name="Hemi"),
    }


def _edit_data(**overrides):
    data = {k: v for k, v in _user_data(**overrides).items() if k != "email"}
    return data


def test_class_org_admin_manages_portal_accounts_refused_in_pages(client, hosting):
    """tama, org-admin of the hosting organisation, cannot open, deactivate, rename or change the
    roles of the admin or the auditor, nor grant admin or auditor to anyone; and still manages
    ordinary members."""
    sign_in(client, hosting["tama"])
    listing = client.get("/admin/users").get_data(as_text=True)
    assert "hemi.viewer@customs.example" in listing
    assert "admin@portal.example" not in listing and "auditor@portal.example" not in listing
    token = csrf_from(client.get(f"/admin/users/{hosting['hemi'].id}").get_data(as_text=True))
    for name in ("admin", "auditor"):
        subject = hosting[name]
        before = (subject.display_name, subject.roles, subject.clearance, subject.active)
        assert client.get(f"/admin/users/{subject.id}").status_code == 404
        # Deactivate (no "active"), rename and add a role, in one forged post: refused, nothing changes.
        forged = _edit_data(display_name="Renamed", roles=[name, "org-admin"])
        forged.pop("active")
        response = client.post(f"/admin/users/{subject.id}", data={"csrf_token": token, **forged})
        assert response.status_code == 404
        db.session.refresh(subject)
        assert (subject.display_name, subject.roles, subject.clearance, subject.active) == before
    for role in ("admin", "auditor"):  # granting the portal's roles to an ordinary member
        refused = _form(client, f"/admin/users/{hosting['hemi'].id}", **_edit_data(roles=["viewer", role]))
        assert refused.status_code == 400
        db.session.refresh(hosting["hemi"])
        assert hosting["hemi"].roles == {Role.VIEWER}
        created = _form(client, "/admin/users/new", **_user_data(email=f"{role}2@customs.example", roles=[role],
                                                                 organisation=str(hosting["customs"].id)))
        assert created.status_code == 400
        assert db.session.scalar(select(User).where(User.email == f"{role}2@customs.example")) is None
    ok = _form(client, f"/admin/users/{hosting['hemi'].id}",
               **_edit_data(display_name="Hemi Walker", roles=["viewer", "submitter"]))
    assert ok.status_code == 302
    db.session.refresh(hosting["hemi"])
    assert hosting["hemi"].display_name == "Hemi Walker" and hosting["hemi"].roles == {Role.VIEWER, Role.SUBMITTER}


def test_class_org_admin_manages_portal_accounts_portal_admin_still_does(client, hosting):
    """The portal admin manages the auditor (and grants the auditor role) as before."""
    sign_in(client, hosting["admin"])
    response = _form(client, f"/admin/users/{hosting['auditor'].id}",
                     **_edit_data(display_name="Audit", roles=["auditor", "viewer"]))
    assert response.status_code == 302
    db.session.refresh(hosting["auditor"])
    assert hosting["auditor"].roles == {Role.AUDITOR, Role.VIEWER} and hosting["auditor"].display_name == "Audit"


def test_class_org_admin_manages_portal_accounts_tokens(client, hosting):
    """An org-admin sees and revokes its ordinary members' API tokens, never the portal accounts'."""
    from portal.accounts.models import ApiToken
    from tests.conftest import bearer

    bearer(hosting["admin"])
    bearer(hosting["hemi"])
    admin_token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == hosting["admin"].id))
    hemi_token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == hosting["hemi"].id))
    sign_in(client, hosting["tama"])
    page = client.get("/tokens").get_data(as_text=True)
    assert f"/tokens/{hemi_token.id}/revoke" in page and f"/tokens/{admin_token.id}/revoke" not in page
    token = csrf_from(page)
    assert client.post(f"/tokens/{admin_token.id}/revoke", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/tokens/{hemi_token.id}/revoke", data={"csrf_token": token}).status_code == 302
    db.session.refresh(admin_token)
    db.session.refresh(hemi_token)
    assert admin_token.revoked_at is None and hemi_token.revoked_at is not None


def test_class_org_admin_manages_portal_accounts_sql_agrees_with_predicate(hosting, world):
    """permissions.manageable_users (lists, look-ups) and may_manage_user say the same of everyone."""
    from portal import permissions

    bank = world.org("bank")
    people = [*(hosting[k] for k in ("admin", "auditor", "tama", "hemi")),
              world.user("secret@customs.example", hosting["customs"], clearance="RESTRICTED"),
              world.user("olivia@bank.example", bank, ("org-admin",)),
              world.user("ben@bank.example", bank, ("submitter",)),
              world.user("gone@customs.example", hosting["customs"], ("org-admin",), active=False)]
    for actor in people:
        in_sql = set(db.session.scalars(select(User.id).where(permissions.manageable_users(actor))))
        assert in_sql == {u.id for u in people if permissions.may_manage_user(actor, u)}, actor.email


def test_class_weaker_holes_org_admin_new_user_does_not_confirm_other_organisations_addresses(client, world):
    """Addresses are unique across the portal, so "already exists" on another organisation's address
    told an org-admin who has an account elsewhere. An org-admin adds addresses at its own
    organisation's domains only, checked first: an existing and an unknown outside address get the
    same answer, and only a portal admin learns that an outside address is taken."""
    bank = world.org("bank")
    other = world.org("other-bank")
    org_admin = world.user("oa@bank.example", bank, ("org-admin",), clearance="IN-CONFIDENCE")
    world.user("mine@bank.example", bank)
    world.user("theirs@other.example", other)
    admin = world.user("admin@portal.example", world.org("ops", "government", "customs"), ("admin",))
    sign_in(client, org_admin)
    answers = []
    for email in ("theirs@other.example", "nobody@other.example"):
        response = _form(client, "/admin/users/new", **_user_data(email=email, organisation=str(bank.id)))
        assert response.status_code == 400
        text = response.get_data(as_text=True)
        assert "already exists" not in text and "own domains only" in text
        # The page as answered, but for the address typed and the form's (timed) CSRF token.
        answers.append(re.sub(r'name="csrf_token"[^>]*>', "", text.replace(email, "ADDRESS")))
    assert answers[0] == answers[1]
    assert db.session.scalar(select(User).where(User.email == "nobody@other.example")) is None
    # At its own domain the org-admin is told as before, and a new address is added.
    taken = _form(client, "/admin/users/new", **_user_data(email="mine@bank.example", organisation=str(bank.id)))
    assert taken.status_code == 400 and "already exists" in taken.get_data(as_text=True)
    added = _form(client, "/admin/users/new", **_user_data(email="new@bank.example", organisation=str(bank.id)))
    assert added.status_code == 302
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/logout").get_data(as_text=True))})
    sign_in(client, admin)
    told = _form(client, "/admin/users/new", **_user_data(email="theirs@other.example", organisation=str(bank.id)))
    assert told.status_code == 400 and "already exists" in told.get_data(as_text=True)
