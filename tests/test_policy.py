"""The access policy: SQL criteria and per-object predicates agree; docs/contract.md's rules hold."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from portal import policy
from portal.accounts.models import ApiToken, User
from portal.bulletins.models import Bulletin, BulletinAudience
from portal.deportees.models import DeporteeNotification, DeporteeNotificationRecipient
from portal.extensions import db
from portal.organisations.models import Organisation
from portal.ratings.models import Assessment
from portal.rfis.models import InformationRequest
from portal.submissions.models import Submission
from portal.types import utcnow
from portal.vocabulary import Classification, Role
from tests.conftest import sign_in

SECTORS = ("banking", "ports", "customs", "police")
COUNTRIES = ("NZ", "WS", "TO")
# Weighted towards the cases that decide most (published content, TLP:RED) so that small random
# worlds exercise every branch of every rule.
TLPS = ("RED", "AMBER", "RED", "GREEN", "CLEAR", "AMBER+STRICT")
STATUSES = ("published", "draft", "published", "pending-review", "published", "withdrawn")
N_ORGS, N_USERS = 4, 6
# Organisations' slugs that are also a sector, a country and a user's address: an audience entry
# counts only for its own kind (an organisation called "customs" is not the customs sector).
SLUGS = ("org-0", "customs", "WS", "user1@example.org")

levels = st.sampled_from(list(Classification))
org_st = st.tuples(st.sampled_from(SECTORS), st.sampled_from(COUNTRIES))
user_st = st.tuples(st.integers(0, N_ORGS - 1), st.sets(st.sampled_from(list(Role)), max_size=3), levels,
                    st.booleans())
audience_st = st.tuples(
    st.sets(st.integers(0, N_ORGS - 1), max_size=3), st.sets(st.sampled_from(SECTORS), max_size=2),
    st.sets(st.sampled_from(COUNTRIES), max_size=2), st.sets(st.integers(0, N_USERS - 1), max_size=3),
)
bulletin_st = st.tuples(st.integers(0, N_ORGS - 1), levels, st.sampled_from(TLPS), st.sampled_from(STATUSES),
                        audience_st)
submission_st = st.tuples(st.integers(0, N_ORGS - 1), st.integers(0, N_ORGS - 1), levels)
notification_st = st.tuples(st.integers(0, N_ORGS - 1), st.sets(st.integers(0, N_ORGS - 1), max_size=3), levels)
request_st = st.tuples(st.integers(0, N_ORGS - 1), st.integers(0, N_ORGS - 1), levels)
assessment_st = st.tuples(st.integers(0, N_ORGS - 1), st.sampled_from(("draft", "submitted", "rated")))

world_st = st.fixed_dictionaries({
    "orgs": st.lists(org_st, min_size=N_ORGS, max_size=N_ORGS),
    "users": st.lists(user_st, min_size=N_USERS, max_size=N_USERS),
    "bulletins": st.lists(bulletin_st, min_size=1, max_size=10),
    "submissions": st.lists(submission_st, max_size=6),
    "notifications": st.lists(notification_st, max_size=5),
    "requests": st.lists(request_st, max_size=5),
    "assessments": st.lists(assessment_st, max_size=5),
})


@pytest.fixture
def extra_settings():
    """org-0's analysts assess partners, so the random worlds exercise the assessor branch."""
    import tomllib

    from portal.config import DEFAULTS_FILE

    with DEFAULTS_FILE.open("rb") as fh:
        resilience = tomllib.load(fh)["resilience"]
    return {"resilience": {**resilience, "assessor_orgs": ["org-0"]}}


def _build(world: dict) -> tuple[list[User], dict[str, list]]:
    orgs = [Organisation(slug=SLUGS[i], name=f"Org {i}", kind="private", sector=s, country=c)
            for i, (s, c) in enumerate(world["orgs"])]
    db.session.add_all(orgs)
    users = []
    for i, (org_index, roles, clearance, active) in enumerate(world["users"]):
        user = User(email=f"user{i}@example.org", organisation=orgs[org_index], clearance=clearance, active=active)
        user.set_roles(roles)
        users.append(user)
    db.session.add_all(users)
    db.session.flush()
    content: dict[str, list] = {"bulletins": [], "submissions": [], "notifications": [], "requests": [],
                                "assessments": []}
    for author, level, tlp, status, (a_orgs, a_sectors, a_countries, a_users) in world["bulletins"]:
        bulletin = Bulletin(author_org=orgs[author], title="t", classification=level, tlp=tlp, status=status)
        bulletin.audience = (
            [BulletinAudience(kind="org", value=SLUGS[i]) for i in a_orgs]
            + [BulletinAudience(kind="sector", value=s) for s in a_sectors]
            + [BulletinAudience(kind="country", value=c) for c in a_countries]
            + [BulletinAudience(kind="user", value=f"user{i}@example.org") for i in a_users]
        )
        content["bulletins"].append(bulletin)
    for n, (sender, recipient, level) in enumerate(world["submissions"]):
        content["submissions"].append(Submission(reference=f"SAR-2026-{n:06d}", submitting_org=orgs[sender],
                                                 recipient_org=orgs[recipient], classification=level))
    for n, (issuer, recipients, level) in enumerate(world["notifications"]):
        item = DeporteeNotification(reference=f"DN-2026-{n:06d}", issuing_org=orgs[issuer],
                                    destination_country="WS", classification=level)
        item.recipients = [DeporteeNotificationRecipient(organisation=orgs[r]) for r in recipients]
        content["notifications"].append(item)
    for n, (requester, holder, level) in enumerate(world.get("requests", [])):
        content["requests"].append(InformationRequest(
            reference=f"RFI-2026-{n:06d}", requesting_org=orgs[requester], holder_org=orgs[holder],
            classification=level, subject="s", legal_basis="b", grounds="g", due_at=utcnow()))
    for org_index, status in world.get("assessments", []):
        content["assessments"].append(Assessment(organisation=orgs[org_index], status=status))
    for items in content.values():
        db.session.add_all(items)
    db.session.flush()
    return users, content


RULES = (
    ("bulletins", Bulletin, policy.bulletin_readable, policy.can_read_bulletin),
    ("submissions", Submission, policy.submission_readable, policy.can_read_submission),
    ("notifications", DeporteeNotification, policy.deportee_notification_readable,
     policy.can_read_deportee_notification),
    ("requests", InformationRequest, policy.information_request_readable, policy.can_read_information_request),
    ("assessments", Assessment, policy.assessment_readable, policy.can_read_assessment),
)


def test_sql_criteria_and_predicates_agree(app):
    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(world=world_st)
    def check(world: dict) -> None:
        try:
            users, content = _build(world)
            for user in users:
                for key, model, criterion, predicate in RULES:
                    in_sql = set(db.session.scalars(select(model.id).where(criterion(user))))
                    in_python = {item.id for item in content[key] if predicate(user, item)}
                    assert in_sql == in_python, (key, user.email)
        finally:
            db.session.rollback()

    check()


def test_prepared_bulletin_rule_agrees_with_the_predicate(app):
    """``bulletin_readable_prepared`` with ``bulletin_rule_facts`` (one statement for every reader,
    the facts as parameters) selects exactly the bulletins ``bulletin_readable`` selects, for many
    random readers (inactive ones included) and bulletins, on both databases; and
    ``newest_readable_bulletin_ids`` pages through exactly those, newest first."""
    prepared = select(Bulletin.id).where(policy.bulletin_readable_prepared())

    @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
    @given(world=world_st)
    def check(world: dict) -> None:
        try:
            users, _content = _build(world)
            for user in users:
                literal = set(db.session.scalars(select(Bulletin.id).where(policy.bulletin_readable(user))))
                facts = policy.bulletin_rule_facts(user)
                with_facts = set(db.session.scalars(prepared, facts))
                assert with_facts == literal, user.email
                # Walked from the audience and author indexes, a page at a time: the same, in order.
                newest_first = sorted(literal, reverse=True)
                for page_rows in (1, 2, 5, 20):
                    page = db.session.scalars(policy.newest_readable_bulletin_ids(), {
                        **facts, "page_rows": page_rows}).all()
                    assert page == newest_first[:page_rows], (user.email, page_rows)
                    for before in {newest_first[len(newest_first) // 2], max(literal) + 1} if literal else ():
                        page = db.session.scalars(policy.newest_readable_bulletin_ids(after_cursor=True), {
                            **facts, "page_rows": page_rows, "before": before}).all()
                        assert page == [i for i in newest_first if i < before][:page_rows], (user.email, before)
        finally:
            db.session.rollback()

    check()
    # Upper-case addresses and an organisation whose slug, sector and country all name audiences.
    org = Organisation(slug="banking", name="Bank", kind="private", sector="NZ", country="WS")
    user = User(email="Mixed.Case@Example.org", organisation=org, clearance=Classification.RESTRICTED)
    user.set_roles({Role.VIEWER})
    other = Organisation(slug="elsewhere", name="Elsewhere", kind="private", sector="ports", country="TO")
    def bulletin(author, level=Classification.IN_CONFIDENCE, tlp="AMBER", status="published", **audience):
        return Bulletin(author_org=author, title="t", classification=level, tlp=tlp, status=status,
                        audience=[BulletinAudience(kind=kind, value=value) for kind, values in audience.items()
                                  for value in values])

    bulletins = [bulletin(other, tlp="RED", user=["mixed.case@example.org"]), bulletin(other, sector=["banking"]),
                 bulletin(other, org=["banking"]), bulletin(other, country=["WS"]), bulletin(other, country=["NZ"]),
                 bulletin(other, level=Classification.RESTRICTED, country=["TO"]),
                 bulletin(org, status="draft", tlp="RED")]
    db.session.add_all([org, other, user, *bulletins])
    db.session.flush()
    literal = set(db.session.scalars(select(Bulletin.id).where(policy.bulletin_readable(user))))
    assert literal == {bulletins[i].id for i in (0, 2, 3, 6)}  # the sector NZ is no country
    assert set(db.session.scalars(prepared, policy.bulletin_rule_facts(user))) == literal
    assert db.session.scalars(policy.newest_readable_bulletin_ids(), {
        **policy.bulletin_rule_facts(user), "page_rows": 10}).all() == sorted(literal, reverse=True)
    db.session.rollback()


def test_an_assessor_reads_its_own_assessments_and_others_once_submitted(app):
    """Not left to the random worlds: an assessor reads its own drafts and every other partner's
    submitted assessment, never another's draft; an ordinary analyst only its own."""
    assessor_org = Organisation(slug="org-0", name="Assessor", kind="agency", sector="customs", country="NZ")
    partner = Organisation(slug="partner", name="Partner", kind="private", sector="ports", country="NZ")
    assessor = User(email="assessor@example.org", organisation=assessor_org, clearance=Classification.RESTRICTED)
    assessor.set_roles({Role.ANALYST})
    analyst = User(email="analyst@example.org", organisation=partner, clearance=Classification.RESTRICTED)
    analyst.set_roles({Role.ANALYST})
    own_draft = Assessment(organisation=assessor_org, status="draft")
    theirs_draft = Assessment(organisation=partner, status="draft")
    theirs_submitted = Assessment(organisation=partner, status="submitted")
    db.session.add_all([assessor_org, partner, assessor, analyst, own_draft, theirs_draft, theirs_submitted])
    db.session.flush()

    def readable_by(user):
        return set(db.session.scalars(select(Assessment.id).where(policy.assessment_readable(user))))

    assert readable_by(assessor) == {own_draft.id, theirs_submitted.id}
    assert readable_by(analyst) == {theirs_draft.id, theirs_submitted.id}
    db.session.rollback()


def test_recipient_rules_agree_with_the_members_who_may_read(app):
    """The scorecards' "asked to act" rules (``member_may_read``, ``member_clearances``,
    ``bulletin_recipient_pairs``) name exactly the organisations some active, approved member of
    which may read the item — computed here in Python over random worlds with inactive and pending
    people and inactive organisations."""

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(world=world_st, data=st.data())
    def check(world: dict, data) -> None:
        try:
            users, content = _build(world)
            orgs = list(db.session.scalars(select(Organisation).where(Organisation.slug.in_(SLUGS))))
            for org in orgs:
                org.active = org.slug == "org-0" or data.draw(st.booleans(), label="org active")
            for user in users:
                user.pending = data.draw(st.sampled_from((False, False, True)), label="pending")
            db.session.add_all(content["bulletins"])
            db.session.flush()

            def members(org, level, email=None):
                return [u for u in users if u.organisation_id == org.id and u.active and not u.pending
                        and org.active and u.clearance >= level and (email is None or u.email.lower() == email)]

            for level in Classification:
                for email in (None, "user1@example.org", "user2@example.org"):
                    in_sql = set(db.session.scalars(select(Organisation.id).where(
                        Organisation.slug.in_(SLUGS), policy.member_may_read(Organisation.id, level, email))))
                    assert in_sql == {o.id for o in orgs if members(o, level, email)}, (level, email)
            cleared = policy.member_clearances()
            in_sql = {tuple(row) for row in db.session.execute(select(cleared.c.organisation_id, cleared.c.clearance))}
            expected = set()
            for org in orgs:
                found = [u.clearance for u in members(org, Classification.UNCLASSIFIED)]
                if found:
                    expected.add((org.id, max(found)))
            assert in_sql == expected
            named = policy.bulletin_recipient_pairs().subquery()
            pairs = {tuple(row) for row in db.session.execute(select(named.c.bulletin_id, named.c.organisation_id))}
            expected = set()
            for b in content["bulletins"]:
                if b.status != "published":
                    continue
                for org in orgs:
                    if org.id == b.author_org_id:
                        continue
                    if b.tlp == "RED":
                        named = [a.value for a in b.audience if a.kind == "user"]
                        if any(members(org, b.classification, e) for e in named):
                            expected.add((b.id, org.id))
                    elif any((a.kind, a.value) in {("org", org.slug), ("sector", org.sector),
                                                   ("country", org.country)} for a in b.audience) \
                            and members(org, b.classification):
                        expected.add((b.id, org.id))
            assert pairs == expected
        finally:
            db.session.rollback()

    check()
    # TLP:RED goes to named people only: an organisation whose slug reads like an address is not
    # named by an "org" entry, and one bulletin's names do not carry over to another.
    mine = Organisation(slug="author", name="Author", kind="private", sector="ports", country="NZ")
    theirs = Organisation(slug="user1@example.org", name="Odd", kind="private", sector="ports", country="NZ")
    named_user = User(email="user1@example.org", organisation=theirs, clearance=Classification.RESTRICTED)
    red = [Bulletin(author_org=mine, title="t", classification=Classification.IN_CONFIDENCE, tlp="RED",
                    status="published", audience=[BulletinAudience(kind=kind, value="user1@example.org")])
           for kind in ("org", "user")]
    db.session.add_all([mine, theirs, named_user, *red])
    db.session.flush()
    assert {tuple(row) for row in db.session.execute(policy.bulletin_recipient_pairs())} == {(red[1].id, theirs.id)}
    db.session.rollback()


# --- docs/contract.md's rules, case by case ---------------------------------------------------------

def _bulletin(author, level="IN-CONFIDENCE", tlp="AMBER", status="published", **audience):
    bulletin = Bulletin(author_org=author, title="Bulletin", classification=Classification.parse(level), tlp=tlp,
                        status=status, published_at=utcnow())
    for kind, values in audience.items():
        for value in values:
            bulletin.audience.append(BulletinAudience(kind=kind, value=value))
    db.session.add(bulletin)
    db.session.commit()
    return bulletin


def test_bulletin_rules(world):
    customs = world.org("customs", "government", "customs")
    bank = world.org("bank-a", "private", "banking")
    other_bank = world.org("bank-b", "private", "banking")
    port = world.org("port", "private", "ports")
    ws = world.org("ws-police", "pacific", "police", "WS")
    teller = world.user("t@bank-a.example", bank, clearance="IN-CONFIDENCE")
    low = world.user("low@bank-a.example", bank, clearance="UNCLASSIFIED")
    rival = world.user("r@bank-b.example", other_bank)
    docker = world.user("d@port.example", port)
    officer = world.user("o@ws.example", ws, clearance="SENSITIVE")

    by_org = _bulletin(customs, org=["bank-a"])
    by_sector = _bulletin(customs, sector=["banking"])
    by_country = _bulletin(customs, level="SENSITIVE", country=["WS"])
    red = _bulletin(customs, tlp="RED", org=["bank-a"], user=["d@port.example"])
    draft = _bulletin(customs, status="draft", sector=["banking"])
    withdrawn = _bulletin(customs, status="withdrawn", sector=["banking"])

    assert policy.can_read_bulletin(teller, by_org) and not policy.can_read_bulletin(rival, by_org)
    assert policy.can_read_bulletin(rival, by_sector) and not policy.can_read_bulletin(docker, by_sector)
    assert not policy.can_read_bulletin(low, by_sector)  # clearance below classification
    assert policy.can_read_bulletin(officer, by_country) and not policy.can_read_bulletin(teller, by_country)
    # TLP:RED counts only named users, not the organisation in the audience.
    assert policy.can_read_bulletin(docker, red) and not policy.can_read_bulletin(teller, red)
    for unpublished in (draft, withdrawn):
        assert not policy.can_read_bulletin(teller, unpublished)
    # Only the author organisation sees who else a bulletin went to.
    author = world.user("a@customs.example", customs)
    assert policy.sees_bulletin_audience(author, by_org) and not policy.sees_bulletin_audience(teller, by_org)


def test_an_audience_entry_counts_only_for_its_own_kind(world):
    """An organisation whose slug is also a sector, a country or someone's address is not that sector,
    country or person: by the SQL criterion and by the predicate alike."""
    author = world.org("nz-customs", "government", "customs")
    named_customs = world.org("customs", "government", "police")  # the slug, not the sector
    named_ws = world.org("WS", "private", "ports")  # the slug, not the country (it is in NZ)
    named_person = world.org("u@port.example", "private", "banking")
    in_sector = world.org("port-x", "private", "customs", "WS")  # the sector customs, the country WS
    reader_of = {org.slug: world.user(f"r@{index}.example", org) for index, org in
                 enumerate((named_customs, named_ws, named_person, in_sector))}
    person = world.user("u@port.example", in_sector)
    cases = [  # (bulletin, who may read it, who may not)
        (_bulletin(author, sector=["customs"]), {"port-x"}, {"customs"}),
        (_bulletin(author, org=["WS"]), {"WS"}, {"port-x"}),
        (_bulletin(author, country=["WS"]), {"port-x"}, {"WS"}),
        (_bulletin(author, org=["customs"]), {"customs"}, {"port-x"}),
    ]
    for bulletin, allowed, refused in cases:
        for slug in allowed | refused:
            user = reader_of[slug]
            expected = slug in allowed
            assert policy.can_read_bulletin(user, bulletin) is expected, (slug, bulletin.audience)
            found = db.session.scalar(policy.readable_bulletins(user).where(Bulletin.id == bulletin.id))
            assert (found is not None) is expected, (slug, bulletin.audience)
    # TLP:RED goes to named people only; an organisation named like their address is not them.
    red = _bulletin(author, tlp="RED", org=["u@port.example"])
    assert not policy.can_read_bulletin(person, red)
    assert db.session.scalar(policy.readable_bulletins(person).where(Bulletin.id == red.id)) is None
    red_named = _bulletin(author, tlp="RED", user=["u@port.example"])
    assert policy.can_read_bulletin(person, red_named)
    assert db.session.scalar(policy.readable_bulletins(person).where(Bulletin.id == red_named.id)) is not None


def test_oversight_assessors_and_scorecards(world):
    """Oversight: analysts and org-admins of the oversight agencies (nz-customs by default); assessors:
    analysts of the assessing organisations (org-0 here); a scorecard: one's own, or any for oversight."""
    customs = world.org("nz-customs", "government", "customs")
    assessing = world.org("org-0", "government", "fiu")
    bank, peer = world.org("bank-a"), world.org("bank-b")
    analyst = world.user("a@customs.example", customs, ("analyst",))
    customs_admin = world.user("oa@customs.example", customs, ("org-admin",))
    viewer = world.user("v@customs.example", customs, ("viewer",))
    gone = world.user("g@customs.example", customs, ("analyst", "org-admin"), active=False)
    banker = world.user("b@bank.example", bank, ("analyst", "org-admin"))
    assessor = world.user("x@org0.example", assessing, ("analyst",))
    assessing_viewer = world.user("y@org0.example", assessing, ("viewer", "org-admin"))
    gone_assessor = world.user("z@org0.example", assessing, ("analyst",), active=False)
    assert policy.is_oversight(analyst) and policy.is_oversight(customs_admin)
    for user in (viewer, gone, banker, assessor):
        assert not policy.is_oversight(user), user.email
    assert policy.is_assessor(assessor)
    for user in (assessing_viewer, gone_assessor, analyst, banker):
        assert not policy.is_assessor(user), user.email
    assert policy.sees_scorecard_of(banker, bank.id) and not policy.sees_scorecard_of(banker, peer.id)
    assert policy.sees_scorecard_of(analyst, peer.id) and not policy.sees_scorecard_of(viewer, peer.id)
    assert policy.sees_scorecard_of(viewer, customs.id) and not policy.sees_scorecard_of(gone, customs.id)


def test_admin_and_auditor_read_no_content_by_role(world):
    customs = world.org("customs", "government", "customs")
    bank = world.org("bank-a")
    fiu = world.org("fiu", "government", "fiu")
    admin = world.user("admin@portal.example", fiu, ("admin", "auditor"), clearance="RESTRICTED")
    _bulletin(customs, org=["bank-a"])
    db.session.add(Submission(reference="SAR-2026-000001", submitting_org=bank, recipient_org=customs,
                              classification=Classification.UNCLASSIFIED))
    db.session.commit()
    for statement in (policy.readable_bulletins(admin), policy.readable_submissions(admin),
                      policy.readable_deportee_notifications(admin)):
        assert db.session.scalars(statement).all() == []


def test_submission_rules(world):
    bank = world.org("bank-a")
    other = world.org("bank-b")
    fiu = world.org("fiu", "government", "fiu")
    police = world.org("police", "government", "police")
    submission = Submission(reference="SAR-2026-000009", submitting_org=bank, recipient_org=fiu,
                            classification=Classification.IN_CONFIDENCE)
    db.session.add(submission)
    db.session.commit()
    allowed = [world.user("s@bank-a.example", bank, ("submitter",)),
               world.user("oa@bank-a.example", bank, ("org-admin",)),
               world.user("a@fiu.example", fiu, ("analyst",))]
    refused = [world.user("v@bank-a.example", bank, ("viewer",)),
               world.user("s@bank-b.example", other, ("submitter", "org-admin", "analyst")),
               world.user("p@fiu.example", fiu, ("publisher", "submitter")),
               world.user("a@police.example", police, ("analyst",)),
               world.user("low@fiu.example", fiu, ("analyst",), clearance="UNCLASSIFIED")]
    for user in allowed:
        assert policy.can_read_submission(user, submission), user.email
    for user in refused:
        assert not policy.can_read_submission(user, submission), user.email


def test_deportee_notification_rules(world):
    corrections = world.org("corrections", "government", "corrections")
    ws = world.org("ws-police", "pacific", "police", "WS")
    to = world.org("to-police", "pacific", "police", "TO")
    item = DeporteeNotification(reference="DN-2026-000001", issuing_org=corrections, destination_country="WS",
                                classification=Classification.SENSITIVE)
    item.recipients.append(DeporteeNotificationRecipient(organisation=ws))
    db.session.add(item)
    db.session.commit()
    assert policy.can_read_deportee_notification(world.user("i@c.example", corrections, clearance="SENSITIVE"), item)
    assert policy.can_read_deportee_notification(world.user("w@ws.example", ws, clearance="SENSITIVE"), item)
    assert not policy.can_read_deportee_notification(world.user("t@to.example", to, clearance="RESTRICTED"), item)
    assert not policy.can_read_deportee_notification(world.user("l@ws.example", ws, clearance="IN-CONFIDENCE"), item)


def test_invisible_content_is_404_everywhere_and_absent_from_counts(app, client, world):
    customs = world.org("customs", "government", "customs")
    bank = world.org("bank-a")
    world.org("bank-b")
    fiu = world.org("fiu", "government", "fiu")
    visible = _bulletin(customs, org=["bank-a"])
    hidden = _bulletin(customs, org=["bank-b"])
    hidden_sar = Submission(reference="SAR-2026-000042", submitting_org=world.org("port", sector="ports"),
                            recipient_org=fiu, classification=Classification.UNCLASSIFIED)
    db.session.add(hidden_sar)
    db.session.commit()
    user = world.user("s@bank-a.example", bank, ("submitter",))
    sign_in(client, user)
    assert client.get(f"/bulletins/{visible.id}").status_code == 200
    assert client.get(f"/bulletins/{hidden.id}").status_code == 404
    assert client.get(f"/bulletins/{hidden.id + 1000}").status_code == 404
    assert client.get("/submissions/SAR-2026-000042").status_code == 404
    listing = client.get("/bulletins").get_data(as_text=True)
    assert f"/bulletins/{visible.id}" in listing and f"/bulletins/{hidden.id}" not in listing
    home = client.get("/").get_data(as_text=True)
    assert '<span class="card-number">1</span>' in home

    token, clear = ApiToken.issue(user, "t", [], utcnow() + dt.timedelta(days=1))
    db.session.add(token)
    db.session.commit()
    headers = {"Authorization": f"Bearer {clear}"}
    assert client.get(f"/api/v1/bulletins/{hidden.id}", headers=headers).status_code == 404
    assert client.get("/api/v1/submissions/SAR-2026-000042", headers=headers).status_code == 404
    items = client.get("/api/v1/bulletins", headers=headers).get_json()["items"]
    assert [b["id"] for b in items] == [visible.id]
    assert items[0]["audience"] is None  # recipients never see the other members of an audience


def test_policy_refuses_inactive_users(world):
    customs = world.org("customs", "government", "customs")
    bank = world.org("bank-a")
    bulletin = _bulletin(customs, org=["bank-a"])
    user = world.user("v@bank-a.example", bank, active=False)
    assert not policy.can_read_bulletin(user, bulletin)
    assert db.session.scalar(select(func.count()).select_from(
        policy.readable_bulletins(user).subquery())) == 0


def test_reader_is_401_without_a_signed_in_user_or_token(app):
    """The default-deny gate sets the reader; a content route reached without one answers 401."""
    from werkzeug.exceptions import Unauthorized

    with app.test_request_context("/bulletins"), pytest.raises(Unauthorized):
        policy.reader()
