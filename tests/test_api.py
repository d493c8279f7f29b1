"""The JSON API skeleton: bearer tokens, docs/contract.md's errors and lists, the OpenAPI document."""
from __future__ import annotations

import datetime as dt

from openapi_spec_validator import validate
from sqlalchemy import func, select

from portal.accounts.models import ApiToken
from portal.audit.models import AuditEntry
from portal.bulletins.models import Bulletin, BulletinAudience
from portal.extensions import db
from portal.types import utcnow
from portal.vocabulary import Classification
from tests.conftest import sign_in


def _token(user, scopes=(), days=30, networks=""):
    token, clear = ApiToken.issue(user, "test", list(scopes), utcnow() + dt.timedelta(days=days))
    token.allowed_networks = networks
    db.session.add(token)
    db.session.commit()
    return token, {"Authorization": f"Bearer {clear}"}


def _bulletins(author, n, audience_org):
    for i in range(n):
        b = Bulletin(author_org=author, title=f"B{i}", classification=Classification.UNCLASSIFIED, tlp="GREEN",
                     status="published", published_at=utcnow())
        b.audience.append(BulletinAudience(kind="org", value=audience_org))
        db.session.add(b)
    db.session.commit()


def test_openapi_document_is_valid_and_public_to_token_holders(client, world):
    user = world.user("v@bank.example", world.org("bank"))
    _, headers = _token(user)
    assert client.get("/api/v1/openapi.json").status_code == 401
    document = client.get("/api/v1/openapi.json", headers=headers).get_json()
    validate(document)
    assert "/bulletins" in document["paths"]


def test_error_format_for_missing_bad_expired_revoked_tokens(client, world):
    user = world.user("v@bank.example", world.org("bank"))
    expired, expired_headers = _token(user, days=-1)
    revoked, revoked_headers = _token(user)
    revoked.revoked_at = utcnow()
    db.session.commit()
    for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic abc"},
                    expired_headers, revoked_headers):
        response = client.get("/api/v1/bulletins", headers=headers)
        assert response.status_code == 401
        body = response.get_json()
        assert body["error"]["code"] == "unauthenticated" and body["error"]["message"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_session_cookie_is_not_accepted_by_the_api(client, world):
    user = world.user("v@bank.example", world.org("bank"))
    sign_in(client, user)
    assert client.get("/bulletins").status_code == 200
    assert client.get("/api/v1/bulletins").status_code == 401


def test_token_of_deactivated_user_stops_working(client, world):
    user = world.user("v@bank.example", world.org("bank"))
    _, headers = _token(user)
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    user.active = False
    db.session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_token_rights_follow_the_users_current_clearance(client, world):
    customs = world.org("customs", "government", "customs")
    bank = world.org("bank")
    user = world.user("v@bank.example", bank, clearance="SENSITIVE")
    b = Bulletin(author_org=customs, title="S", classification=Classification.SENSITIVE, tlp="AMBER",
                 status="published", published_at=utcnow())
    b.audience.append(BulletinAudience(kind="org", value="bank"))
    db.session.add(b)
    db.session.commit()
    _, headers = _token(user)
    assert client.get(f"/api/v1/bulletins/{b.id}", headers=headers).status_code == 200
    user.clearance = Classification.IN_CONFIDENCE
    db.session.commit()
    assert client.get(f"/api/v1/bulletins/{b.id}", headers=headers).status_code == 404


def test_scopes_limit_a_token(client, world):
    user = world.user("v@bank.example", world.org("bank"), ("submitter",))
    _, headers = _token(user, scopes=["bulletins:read"])
    assert client.get("/api/v1/bulletins", headers=headers).status_code == 200
    response = client.get("/api/v1/submissions", headers=headers)
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"


def test_allowed_networks(client, world):
    user = world.user("v@bank.example", world.org("bank"))
    _, inside = _token(user, networks="127.0.0.0/8")
    _, outside = _token(user, networks="192.0.2.0/24")
    assert client.get("/api/v1/me", headers=inside).status_code == 200
    assert client.get("/api/v1/me", headers=outside).status_code == 401


def test_cursor_pagination_newest_first(client, world):
    customs = world.org("customs", "government", "customs")
    user = world.user("v@bank.example", world.org("bank"))
    _bulletins(customs, 7, "bank")
    _, headers = _token(user)
    seen, cursor = [], None
    while True:
        url = "/api/v1/bulletins?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=headers).get_json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) == 7


def test_bad_list_parameters_are_400_with_fields(client, world):
    user = world.user("v@bank.example", world.org("bank"))
    _, headers = _token(user)
    for query, field in (("limit=0", "limit"), ("limit=201", "limit"), ("limit=abc", "limit"),
                         ("cursor=%%%", "cursor"), ("cursor=eyJ4IjoxfQ", "cursor")):
        response = client.get(f"/api/v1/bulletins?{query}", headers=headers)
        assert response.status_code == 400, query
        assert field in response.get_json()["error"]["fields"]


def test_not_found_and_method_errors_are_json(client, world):
    user = world.user("v@bank.example", world.org("bank"))
    _, headers = _token(user)
    missing = client.get("/api/v1/bulletins/999999", headers=headers)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not-found"
    unknown = client.get("/api/v1/nothing-here", headers=headers)
    assert unknown.status_code == 404 and unknown.is_json
    wrong = client.delete("/api/v1/bulletins", headers=headers)
    assert wrong.status_code == 405 and wrong.is_json


def test_every_api_use_is_audited_and_last_use_recorded(client, world):
    user = world.user("v@bank.example", world.org("bank"))
    token, headers = _token(user)
    client.get("/api/v1/bulletins", headers=headers)
    db.session.refresh(token)
    assert token.last_used_at is not None
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "bulletin.list")).one()
    assert entry.actor_email == "v@bank.example" and '"via": "api"' in entry.details
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) >= 1


def test_typologies_list(client, world):
    user = world.user("v@bank.example", world.org("bank"))
    _, headers = _token(user)
    items = client.get("/api/v1/typologies", headers=headers).get_json()["items"]
    codes = {item["code"] for item in items}
    assert {"drug-importation", "money-laundering", "migrant-exploitation"} <= codes
