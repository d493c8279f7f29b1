"""Issue 13, class 2: write scopes not enforced.

Every API route declares its scope family once (``portal/api/scopes.py``); the method decides read
or write in one place. These tests walk the whole URL map, so a route added later is covered
without anyone remembering to add it here.
"""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from portal.accounts.service import API_SCOPES
from portal.api.scopes import (
    FAMILY_ATTRIBUTE, OPEN_ENDPOINTS, READ_METHODS, TAXII_OPEN_ENDPOINTS, family_of, scope_needed,
)
from portal.bulletins.models import Bulletin, BulletinAudience, BulletinIndicator
from portal.extensions import db
from portal.types import utcnow
from portal.vocabulary import Classification
from tests.conftest import bearer

READ_ONLY = tuple(scope for scope in API_SCOPES if scope.endswith(":read"))
#: Tables whose rows a refused request may still add or touch: the audit trail records the refusal,
#: and the token's last use is noted.
BOOKKEEPING = re.compile(r"^(audit_|api_tokens$|alembic_version$)")
#: A body that would be valid for most of the API's writes, so a request that is not refused acts.
BODY = {"rating": "useful", "comment": "Seen it.", "body": "Which port of loading?", "context": "At the gate.",
        "seen_at": "2026-11-20T03:00:00Z", "kind": "note", "note": "Arrived.", "reason": "Superseded.",
        "change_note": "Typo.", "title": "A title"}


@pytest.fixture
def extra_settings():
    return {"deportee_routes": {"WS": ["ws-police"]}}


@pytest.fixture
def scene(client, world):
    """A reader in a Pacific agency with every role that acts, and one thing of each kind to act on."""
    customs = world.org("nz-customs", "government", "customs")
    corrections = world.org("nz-corrections", "government", "corrections")
    world.org("nz-fiu", "government", "fiu")
    ws = world.org("ws-police", "pacific", "police", "WS")
    reader = world.user("reader@police.ws.example", ws, ("viewer", "publisher", "submitter", "analyst", "org-admin"),
                        clearance="RESTRICTED")
    issuer = world.user("ruth@corrections.example", corrections, ("publisher",), clearance="RESTRICTED")
    bulletin = Bulletin(author_org=customs, title="Meth in frozen fish", summary="s", body_html="<p>b</p>",
                        classification=Classification.IN_CONFIDENCE, tlp="GREEN", status="published",
                        published_at=utcnow())
    bulletin.audience.append(BulletinAudience(kind="org", value="ws-police"))
    bulletin.indicators.append(BulletinIndicator(type="container", value="CSQU3054383", normalised="CSQU3054383"))
    db.session.add(bulletin)
    db.session.commit()
    full = bearer(reader)  # no scopes: the user's own rights
    asked = client.post(f"/api/v1/bulletins/{bulletin.id}/questions", json={"body": "Where?"}, headers=full)
    assert asked.status_code == 201, asked.get_json()
    notification = client.post("/api/v1/deportee-notifications", headers=bearer(issuer), json={
        "destination_country": "WS", "classification": "SENSITIVE",
        "person": {"names": ["Tavita Faleolo"], "date_of_birth": "1990-05-01", "sex": "M", "nationality": "WS",
                   "documents": [{"type": "passport", "number": "LA123456", "country": "WS"}]},
        "removal": {"flight": "NZ990", "arrival_airport": "APW", "arrival_at": "2026-12-20T06:30:00Z"},
        "offending_summary": "o", "risk_notes": "r", "reintegration_needs": "n", "legal_basis": "MoU"})
    assert notification.status_code == 201, notification.get_json()
    values = {"bulletin_id": bulletin.id, "question_id": asked.get_json()["id"],
              "notification_id": notification.get_json()["id"], "attachment_id": 1,
              "reference": "SAR-2026-000001", "slug": "ws-police",
              "collection_id": "0b6d8f0e-5b8a-4c53-9d3e-1f2a3b4c5d02", "object_id": "indicator--x", "status_id": "x"}
    return {"reader": reader, "full": full, "values": values, "bulletin": bulletin}


def _url(rule, values) -> str:
    missing = set(rule.arguments) - set(values)
    assert not missing, f"{rule.rule}: give this test a value for {sorted(missing)}"
    return rule.rule if not rule.arguments else re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: str(values[m.group(1)]),
                                                       rule.rule)


def _api_rules(app):
    """The JSON API's, the feeds' and TAXII's routes: all take tokens, all declare their scope family."""
    return [rule for rule in app.url_map.iter_rules() if rule.rule.startswith(("/api/", "/feeds/", "/taxii2/"))]


def _refusal(response) -> tuple[str, str]:
    """(code, message) of a refusal in the API's error shape or TAXII's."""
    body = response.get_json()
    if "error" in body:
        return body["error"]["code"], body["error"]["message"]
    return {"403": "forbidden"}.get(body["http_status"], body["http_status"]), body["description"]


def _snapshot() -> dict[str, list]:
    """Every row of every table except the bookkeeping ones, as text."""
    rows = {}
    for table in db.metadata.sorted_tables:
        if BOOKKEEPING.match(table.name):
            continue
        rows[table.name] = sorted(map(repr, db.session.execute(select(table)).all()))
    return rows


def test_class_write_scopes_not_enforced_every_state_changing_route_refuses_a_read_only_token(app, client, scene):
    read_only = bearer(scene["reader"], READ_ONLY)
    db.session.expire_all()
    before = _snapshot()
    tried = []
    for rule in _api_rules(app):
        for method in sorted(rule.methods - READ_METHODS):
            url = _url(rule, scene["values"])
            response = client.open(url, method=method, data=json.dumps(BODY), content_type="application/json",
                                    headers=read_only)
            assert response.status_code == 403, (method, url, response.status_code, response.get_data(as_text=True))
            code, message = _refusal(response)
            assert code == "forbidden" and ":write" in message, (method, url, code, message)
            tried.append((method, rule.rule))
    db.session.expire_all()
    assert _snapshot() == before, "a refused request changed something"
    # Every write the review named is among them.
    for path in ("acknowledge", "feedback", "questions", "sightings"):
        assert ("POST", f"/api/v1/bulletins/<int:bulletin_id>/{path}") in tried
    # The same token still reads; a token without scopes still acts with its user's rights.
    bulletin_id = scene["values"]["bulletin_id"]
    assert client.get(f"/api/v1/bulletins/{bulletin_id}", headers=read_only).status_code == 200
    assert client.post(f"/api/v1/bulletins/{bulletin_id}/acknowledge", headers=scene["full"]).status_code == 200
    writer = bearer(scene["reader"], ("bulletins:write",))
    assert client.post(f"/api/v1/bulletins/{bulletin_id}/feedback", json={"rating": "useful"},
                       headers=writer).status_code == 201
    assert client.get(f"/api/v1/bulletins/{bulletin_id}", headers=writer).status_code == 403


def test_class_write_scopes_not_enforced_every_api_route_declares_a_scope_family(app):
    families = {scope.split(":")[0] for scope in API_SCOPES}
    undeclared = []
    for rule in _api_rules(app):
        if rule.endpoint in OPEN_ENDPOINTS | TAXII_OPEN_ENDPOINTS:
            continue
        family = getattr(app.view_functions[rule.endpoint], FAMILY_ATTRIBUTE, None)
        if family not in families:
            undeclared.append(rule.rule)
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            scope = f"{family}:{'read' if method == 'GET' else 'write'}"
            # A family whose write scope does not exist can only be written by tokens without scopes.
            assert scope in API_SCOPES or method != "GET", (rule.rule, scope)
    assert not undeclared, f"API routes without a scope family: {undeclared}"
    assert OPEN_ENDPOINTS == {"api.me", "api.openapi", "api.typologies"}
    # TAXII's: discovery, the API root, the collections (each says what the token may do in it) and
    # the status of the token's own writes. Objects, manifests and writes are the bulletins family.
    assert TAXII_OPEN_ENDPOINTS == {"taxii.discovery", "taxii.api_root", "taxii.collections", "taxii.collection",
                                    "taxii.status"}
    assert family_of("taxii.get_objects") == family_of("taxii.add_objects") == "bulletins"


def test_class_write_scopes_not_enforced_a_route_without_a_family_fails_closed(app, client, world):
    app.add_url_rule("/api/v1/undeclared", "api.undeclared", lambda: {"done": True}, methods=["GET", "POST"])
    user = world.user("v@bank.example", world.org("bank"))
    for method in ("GET", "POST"):
        response = client.open("/api/v1/undeclared", method=method, headers=bearer(user))  # no scopes: all rights
        assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"


def test_class_write_scopes_not_enforced_the_method_decides_read_or_write(app):
    assert family_of("api.list_bulletins") == "bulletins"
    assert family_of("api.acknowledge_deportee_notification") == "notifications"
    assert family_of("api.api_scorecard") == "scorecards"
    assert family_of("api.audit_checkpoints") == "audit"
    assert family_of("api.me") is None
    assert scope_needed("bulletins", "GET") == scope_needed("bulletins", "HEAD") == "bulletins:read"
    assert scope_needed("bulletins", "OPTIONS") == "bulletins:read"
    for method in ("POST", "PUT", "PATCH", "DELETE", "PROPFIND"):
        assert scope_needed("bulletins", method) == "bulletins:write"
