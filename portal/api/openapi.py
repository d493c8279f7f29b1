"""The OpenAPI 3.1 document served at ``/api/v1/openapi.json``. Each feature adds its paths."""
from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/schemas/Error"}


def _list_of(schema: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{schema}"}},
            "next_cursor": {"type": ["string", "null"]},
        },
    }


def _responses(ok: dict[str, Any], *errors: int, status: int = 200) -> dict[str, Any]:
    out: dict[str, Any] = {str(status): {"description": "OK", "content": {"application/json": {"schema": ok}}}}
    for code in (401, *errors):
        out[str(code)] = {"description": "Error", "content": {"application/json": {"schema": ERROR}}}
    return out


PAGING = [
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}},
    {"name": "cursor", "in": "query", "schema": {"type": "string"}},
]

TEXT_BODY = {"type": "object", "required": ["body"], "properties": {"body": {"type": "string", "maxLength": 5000}}}
ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
CLASSIFICATION = {"type": "string", "enum": ["UNCLASSIFIED", "IN-CONFIDENCE", "SENSITIVE", "RESTRICTED"]}
TIME = {"type": ["string", "null"], "format": "date-time"}


def openapi_document(base_url: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Partner Sharing Portal API",
            "version": "1.0.0",
            "description": "Threat bulletins, suspicious-activity reports and deportee notifications. "
                           "Every answer is filtered by the portal's access policy: what the token's user "
                           "may not read is answered 404 and left out of lists.",
        },
        "servers": [{"url": base_url + "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/me": {"get": {"summary": "The token's user and scopes", "responses": _responses({"type": "object"})}},
            "/typologies": {"get": {"summary": "Configured typology codes",
                                    "responses": _responses(_list_of("Typology"))}},
            "/bulletins": {
                "get": {"summary": "Bulletins the caller may read, newest first",
                        "parameters": PAGING + [{"name": n, "in": "query", "schema": {"type": "string"}} for n in (
                            "q", "typology", "classification", "tlp", "since", "until")]
                        + [{"name": "author_org", "in": "query", "schema": {"type": "string"},
                            "description": "Author organisation slug; repeat the parameter for any of several"}],
                        "responses": _responses(_list_of("Bulletin"), 400)},
                "post": {"summary": "Write a bulletin (publisher); with publish=true it is published, or pending "
                                    "review when SENSITIVE or above or TLP:RED",
                         "requestBody": {"required": True, "content": {"application/json": {
                             "schema": {"$ref": "#/components/schemas/BulletinInput"}}}},
                         "responses": {**_responses({"$ref": "#/components/schemas/Bulletin"}, 400, 403, 413, 415),
                                       "201": {"description": "Created", "content": {"application/json": {
                                           "schema": {"$ref": "#/components/schemas/Bulletin"}}}}}},
            },
            "/bulletins/import/misp": {"post": {
                "summary": "Import a MISP event (its JSON export, at most 2 MiB) as a draft bulletin of the caller's "
                           "organisation, for its publishers to review, give an audience and publish",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "description": "A MISP event: {\"Event\": {\"info\", \"Attribute\", …}}"}}}},
                "responses": {**_responses({"$ref": "#/components/schemas/Bulletin"}, 400, 403, 413, 415),
                              "201": {"description": "Created (a draft)", "content": {"application/json": {
                                  "schema": {"$ref": "#/components/schemas/Bulletin"}}}}}}},
            "/bulletins/{id}": {
                "get": {"summary": "One bulletin", "parameters": [ID],
                        "responses": _responses({"$ref": "#/components/schemas/Bulletin"}, 404)},
                "patch": {"summary": "Amend: a new version; change_note is required. Under the two-person rule "
                                     "(before or after the change) a published bulletin's change waits for review "
                                     "in pending_change", "parameters": [ID],
                          "requestBody": {"required": True, "content": {"application/json": {
                              "schema": {"$ref": "#/components/schemas/BulletinInput"}}}},
                          "responses": _responses({"$ref": "#/components/schemas/Bulletin"}, 400, 403, 404, 409)}},
            "/bulletins/{id}/approve": {"post": {
                "summary": "A second publisher of the author organisation, cleared for it and who changed nothing in "
                           "it, approves a bulletin pending review (or a published bulletin's pending change)",
                "parameters": [ID], "responses": _responses({"$ref": "#/components/schemas/Bulletin"}, 403, 404, 409)}},
            "/bulletins/{id}/acknowledge": {"post": {
                "summary": "The caller's organisation has read it", "parameters": [ID],
                "responses": _responses({"type": "object"}, 403, 404, 409)}},
            "/bulletins/{id}/feedback": {"post": {
                "summary": "Rate it: useful, actioned or not-relevant, with a comment", "parameters": [ID],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["rating"], "properties": {
                        "rating": {"type": "string", "enum": ["useful", "actioned", "not-relevant"]},
                        "comment": {"type": "string", "maxLength": 2000}}}}}},
                "responses": _responses({"type": "object"}, 400, 403, 404, 409)}},
            "/bulletins/{id}/withdraw": {"post": {
                "summary": "Withdraw (author organisation's publishers); recipients are told, without content",
                "parameters": [ID], "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}}}}},
                "responses": _responses({"$ref": "#/components/schemas/Bulletin"}, 400, 403, 404, 409)}},
            "/bulletins/{id}/questions": {
                "get": {"summary": "The private threads the caller may see (its own, or all for the author)",
                        "parameters": [ID], "responses": _responses({"type": "object"}, 404)},
                "post": {"summary": "Ask the author privately", "parameters": [ID],
                         "requestBody": {"required": True, "content": {"application/json": {"schema": TEXT_BODY}}},
                         "responses": _responses({"type": "object"}, 400, 403, 404, 409)}},
            "/bulletins/{id}/questions/{question}/messages": {"post": {
                "summary": "Reply in a thread", "parameters": [ID, {"name": "question", "in": "path",
                                                                    "required": True, "schema": {"type": "integer"}}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": TEXT_BODY}}},
                "responses": _responses({"type": "object"}, 400, 404)}},
            "/bulletins/{id}/sightings": {
                "get": {"summary": "Sightings the caller may see", "parameters": [ID],
                        "responses": _responses({"type": "object"}, 404)},
                "post": {"summary": "We saw this: when, which indicator, context", "parameters": [ID],
                         "requestBody": {"required": True, "content": {"application/json": {"schema": {
                             "type": "object", "required": ["seen_at"], "properties": {
                                 "seen_at": {"type": "string", "format": "date-time"},
                                 "indicator": {"type": "integer"}, "context": {"type": "string"}}}}}},
                         "responses": _responses({"type": "object"}, 400, 403, 404, 409)}},
            "/bulletins/{id}/attachments": {"post": {
                "summary": "Attach a file (author organisation's publishers)", "parameters": [ID],
                "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                    "type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}}}},
                "responses": _responses({"type": "object"}, 400, 403, 404, 413, 415)}},
            "/bulletins/{id}/attachments/{attachment}": {"get": {
                "summary": "Download an attachment", "parameters": [ID, {"name": "attachment", "in": "path",
                                                                        "required": True,
                                                                        "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "The file"}, "401": {"description": "Error"},
                              "404": {"description": "Error"}}}},
            "/submissions": {
                "get": {"summary": "Suspicious-activity reports the caller may read",
                        "parameters": PAGING + [{"name": "status", "in": "query", "schema": {
                            "type": "string", "enum": ["received", "triaged", "referred", "linked", "closed"]}},
                            {"name": "q", "in": "query", "schema": {"type": "string"},
                             "description": "A reference, or words of the narrative"}],
                        "responses": _responses(_list_of("Submission"), 400)},
                "post": {"summary": "Submit a report (submitters); 201 with the stored report and its reference",
                         "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                                         "description": "The same key with the same body answers with the same "
                                                        "report (header Idempotent-Replayed: true); with another "
                                                        "body, 409.",
                                         "schema": {"type": "string", "maxLength": 200}}],
                         "requestBody": {"required": True, "content": {"application/json": {
                             "schema": {"$ref": "#/components/schemas/SubmissionInput"}}}},
                         "responses": _responses({"$ref": "#/components/schemas/Submission"}, 400, 403, 409, 413,
                                                 415, status=201)}},
            "/submissions/{reference}": {"get": {
                "summary": "One report",
                "parameters": [{"name": "reference", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": _responses({"$ref": "#/components/schemas/Submission"}, 404)}},
            "/submissions/{reference}/goaml": {"get": {
                "summary": "The report as goAML 5.0.2 XML; 409 when it names no person, entity or account",
                "parameters": [{"name": "reference", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "goAML XML", "content": {"application/xml": {
                    "schema": {"type": "string"}}}}, "401": {"description": "Error"},
                    "404": {"description": "Error"}, "409": {"description": "Error"}}}},
            "/scorecards/{slug}": {"get": {
                "summary": "An organisation's sharing-maturity scorecard (its own, or any for oversight users)",
                "parameters": [{"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}},
                               {"name": "period", "in": "query", "schema": {"type": "string"},
                                "description": "2026-Q4, 2026-11 or FY2026/27 (in the reporting time zone); default the "
                                               "current quarter"}],
                "responses": _responses({"$ref": "#/components/schemas/Scorecard"}, 400, 404)}},
            "/deportee-notifications": {
                "get": {"summary": "Deportee notifications the caller may read",
                        "parameters": PAGING + [{"name": "document", "in": "query", "schema": {"type": "string"},
                                                 "description": "Exact travel document number (blind index)"}],
                        "responses": _responses(_list_of("DeporteeNotification"), 400)},
                "post": {"summary": "Issue a notification (publishers of a New Zealand agency); routed to the "
                                    "destination country's designated receivers",
                         "requestBody": {"required": True, "content": {"application/json": {
                             "schema": {"$ref": "#/components/schemas/DeporteeNotificationInput"}}}},
                         "responses": _responses({"$ref": "#/components/schemas/DeporteeNotification"}, 400, 403,
                                                 413, 415, status=201)}},
            "/deportee-notifications/{id}": {"get": {
                "summary": "One deportee notification, with its personal data decrypted for the reader",
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": _responses({"$ref": "#/components/schemas/DeporteeNotification"}, 404)}},
            "/deportee-notifications/{id}/acknowledge": {"post": {
                "summary": "The caller's (receiving) organisation has received it",
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": _responses({"$ref": "#/components/schemas/DeporteeNotification"}, 403, 404, 409)}},
            "/deportee-notifications/{id}/updates": {"post": {
                "summary": "A receiving organisation's news of the person (extension)",
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["kind"], "properties": {
                        "kind": {"type": "string", "enum": ["arrived", "met-by-family", "met-by-services",
                                                            "of-concern", "left-country", "other"]},
                        "note": {"type": "string"}}}}}},
                "responses": _responses({"$ref": "#/components/schemas/DeporteeNotification"}, 400, 403, 404, 409,
                                        status=201)}},
            "/audit/public-keys": {"get": {
                "summary": "Every Ed25519 key that signed audit-log checkpoints, retired ones included "
                           "(org-admins and auditors; scope audit:read)",
                "responses": _responses(_list_of("AuditPublicKey"), 403, 404)}},
            "/audit/checkpoints": {"get": {
                "summary": "Signed checkpoints of the audit log, newest first (org-admins and auditors)",
                "parameters": PAGING, "responses": _responses(_list_of("AuditCheckpoint"), 400, 403, 404)}},
            "/audit/consistency": {"get": {
                "summary": "RFC 9162 consistency proof between the checkpoints of sizes from and to",
                "parameters": [{"name": n, "in": "query", "required": True, "schema": {"type": "integer", "minimum": 1}}
                               for n in ("from", "to")],
                "responses": _responses({"type": "object", "required": ["from", "to", "proof"], "properties": {
                    "from": {"type": "integer"}, "to": {"type": "integer"},
                    "proof": {"type": "array", "items": {"type": "string"}}}}, 400, 403, 404)}},
            "/audit/our-content": {"get": {
                "summary": "Who accessed the caller's organisation's content (org-admins), each row with its leaf "
                           "bytes and, once sealed under a checkpoint, its inclusion proof",
                "parameters": PAGING,
                "responses": _responses({"type": "object", "required": ["checkpoint", "items", "next_cursor"],
                                         "properties": {
                    "checkpoint": {"anyOf": [{"$ref": "#/components/schemas/AuditCheckpoint"}, {"type": "null"}]},
                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/AuditAccess"}},
                    "next_cursor": {"type": ["string", "null"]}}}, 400, 403, 404)}},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object", "required": ["error"],
                    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
                        "code": {"type": "string"}, "message": {"type": "string"},
                        "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
                    }}},
                },
                "Typology": {"type": "object", "properties": {"code": {"type": "string"}, "label": {"type": "string"}}},
                "AuditPublicKey": {"type": "object", "required": ["key_id", "public_key"], "properties": {
                    "key_id": {"type": "string"}, "public_key": {"type": "string", "description": "base64, raw 32 bytes"},
                    "created_at": TIME, "retired_at": TIME}},
                "AuditCheckpoint": {"type": "object", "required": ["tree_size", "root_hash", "key_id", "signed_text",
                                                                   "signature"], "properties": {
                    "tree_size": {"type": "integer"}, "root_hash": {"type": "string", "description": "hex"},
                    "key_id": {"type": "string"},
                    "signed_text": {"type": "string", "description": "C2SP tlog-checkpoint body: origin, size, "
                                                                     "base64 root, each line ending in a newline"},
                    "signature": {"type": "string", "description": "base64 Ed25519 over signed_text's UTF-8 bytes"},
                    "created_at": TIME}},
                "AuditAccess": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "occurred_at": TIME, "actor_email": {"type": "string"},
                    "actor_org": {"type": "string"}, "action": {"type": "string"}, "object_type": {"type": "string"},
                    "object_id": {"type": "string"}, "source_ip": {"type": "string"}, "reason": {"type": "string"},
                    "leaf": {"type": "string", "description": "base64 of the entry's leaf bytes (README)"},
                    "sealed": {"type": "boolean"}, "leaf_index": {"type": ["integer", "null"]},
                    "tree_size": {"type": ["integer", "null"]},
                    "inclusion_proof": {"type": ["array", "null"], "items": {"type": "string"}}}},
                "Bulletin": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "title": {"type": "string"}, "summary": {"type": "string"},
                    "body_html": {"type": "string"}, "classification": CLASSIFICATION,
                    "tlp": {"type": "string", "enum": ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]},
                    "audience": {"type": ["object", "null"], "description": "Shown to the author organisation only."},
                    "indicators": {"type": "array", "items": {"type": "object"}},
                    "typologies": {"type": "array", "items": {"type": "string"}},
                    "status": {"type": "string", "enum": ["draft", "pending-review", "published", "withdrawn"]},
                    "version": {"type": "integer"}, "author_org": {"type": "string"},
                    "published_at": TIME, "expires_at": TIME,
                    "pending_change": {"type": ["object", "null"], "description": (
                        "Author organisation only: a published bulletin's change waiting for a second publisher "
                        "(input, change_note, sent_back). Recipients read the approved version meanwhile.")},
                }},
                "BulletinInput": {"type": "object", "required": ["title", "classification", "tlp"], "properties": {
                    "title": {"type": "string", "maxLength": 300}, "summary": {"type": "string", "maxLength": 2000},
                    "body_html": {"type": "string", "description": "Sanitised to a strict allowlist on input."},
                    "classification": CLASSIFICATION,
                    "tlp": {"type": "string", "enum": ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]},
                    "audience": {"type": "object", "properties": {k: {"type": "array", "items": {"type": "string"}}
                                                                  for k in ("orgs", "sectors", "countries", "users")}},
                    "indicators": {"type": "array", "items": {"type": "object", "required": ["type", "value"],
                                                              "properties": {"type": {"type": "string", "enum": [
                                                                  "person", "organisation", "vessel-imo", "container",
                                                                  "flight", "bank-account", "phone", "email", "domain",
                                                                  "ip-address", "crypto-wallet", "vehicle"]},
                                                                  "value": {"type": "string"}}}},
                    "typologies": {"type": "array", "items": {"type": "string"}},
                    "expires_at": TIME, "publish": {"type": "boolean"},
                    "change_note": {"type": "string", "description": "Required when amending."},
                }},
                "Submission": {"type": "object", "properties": {
                    "reference": {"type": "string", "example": "SAR-2026-000123"},
                    "submitting_org": {"type": "string"},
                    "recipient_org": {"type": "string"}, "classification": CLASSIFICATION,
                    "status": {"type": "string", "enum": ["received", "triaged", "referred", "linked", "closed"]},
                    "outcome": {"type": ["string", "null"]},
                    "typologies": {"type": "array", "items": {"type": "string"}},
                    "narrative": {"type": "string"}, "submitted_at": TIME,
                    "subjects": {"type": "array", "items": {"type": "object"}},
                    "transactions": {"type": "array", "items": {"type": "object"}},
                    "relations": {"type": "array", "items": {"$ref": "#/components/schemas/SubjectRelation"}},
                    "follows": {"type": ["string", "null"]},
                    "content_hash": {"type": "string", "description": "SHA-256 of the report as received"},
                    "attachments": {"type": "array", "items": {"type": "object"}},
                    "feedback": {"type": "array", "items": {"type": "object", "properties": {
                        "outcome": {"type": "string"}, "text": {"type": "string"}, "at": TIME}}},
                }},
                "SubmissionInput": {"type": "object",
                                    "required": ["recipient_org", "classification", "typologies", "narrative"],
                                    "properties": {
                    "recipient_org": {"type": "string", "description": "An agency of a receiving sector"},
                    "classification": CLASSIFICATION,
                    "typologies": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                    "narrative": {"type": "string"},
                    "follows": {"type": "string", "description": "Reference of an earlier report of yours"},
                    "subjects": {"type": "array", "items": {"type": "object", "required": ["kind"], "properties": {
                        "id": {"type": "string"}, "kind": {"type": "string", "enum": [
                            "person", "entity", "account", "vessel", "container", "flight", "vehicle", "phone",
                            "email"]}}}},
                    "transactions": {"type": "array", "items": {"type": "object", "properties": {
                        "date": {"type": "string", "format": "date"}, "amount": {"type": "string"},
                        "currency": {"type": "string"}, "from": {"type": "string"}, "to": {"type": "string"},
                        "method": {"type": "string"}, "description": {"type": "string"},
                        "amount_local": {"type": "string"}}}},
                    "relations": {"type": "array", "items": {"$ref": "#/components/schemas/SubjectRelation"}},
                    "attachments": {"type": "array", "items": {"type": "object", "properties": {
                        "filename": {"type": "string"}, "content_base64": {"type": "string"}}}},
                }},
                "SubjectRelation": {"type": "object", "required": ["subject", "role"], "description": (
                    "How a subject relates to another subject (to: its id) or to a transaction (transaction: its "
                    "0-based position). holder: person or entity of an account; signatory: person of an account; "
                    "director, shareholder, beneficial-owner: person of an entity; conductor: person of a "
                    "transaction; beneficiary: person, entity or account of a transaction. The goAML export "
                    "places subjects by these (README, goAML placement)."), "properties": {
                    "subject": {"type": ["string", "integer"], "description": "A subject's id (or 0-based position)"},
                    "role": {"type": "string", "enum": ["holder", "signatory", "director", "shareholder",
                                                        "beneficial-owner", "conductor", "beneficiary"]},
                    "to": {"type": ["string", "integer"]},
                    "transaction": {"type": "integer", "minimum": 0}}},
                "DeporteeNotification": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "reference": {"type": "string"}, "issuing_org": {"type": "string"},
                    "destination_country": {"type": "string"}, "classification": CLASSIFICATION,
                    "status": {"type": "string", "enum": ["sent", "acknowledged", "purged"]},
                    "recipients": {"type": "array", "items": {"type": "string"}},
                    "acknowledgements": {"type": "array", "items": {"type": "object"}},
                    "arrival_at": TIME, "acknowledged_at": TIME, "removal": {"type": "object"},
                    "person": {"type": "object", "description": "Absent from lists and once purged"},
                    "updates": {"type": "array", "items": {"type": "object"}}, "legal_basis": {"type": "string"},
                    "purged_at": TIME,
                }},
                "Scorecard": {"type": "object", "properties": {
                    "organisation": {"type": "string"}, "period": {"type": "string"},
                    **{k: {"type": "number", "minimum": 0, "maximum": 100}
                       for k in ("proactiveness", "relevance", "frequency", "responsiveness", "overall", "target")},
                    "shares": {"type": "integer"}, "ratings": {"type": "integer"}, "responses": {"type": "integer"},
                    "median_response_hours": {"type": ["number", "null"]}, "computed_at": TIME,
                    "open_items": {"type": "integer", "description": "items open past the target time, counted "
                                   "in responsiveness at their age (at the close, for a closed period)"},
                    "closed": {"type": "boolean"}, "meets_standard": {"type": "boolean"},
                    "time_zone": {"type": "string", "description": "the reporting time zone of the periods"},
                }},
                "DeporteeNotificationInput": {"type": "object",
                                              "required": ["destination_country", "person", "removal", "legal_basis"],
                                              "properties": {
                    "destination_country": {"type": "string"}, "classification": CLASSIFICATION,
                    "person": {"type": "object", "required": ["names"], "properties": {
                        "names": {"type": "array", "items": {"type": "string"}},
                        "aliases": {"type": "array", "items": {"type": "string"}},
                        "date_of_birth": {"type": "string", "format": "date"},
                        "sex": {"type": "string", "enum": ["F", "M", "X"]}, "nationality": {"type": "string"},
                        "documents": {"type": "array", "items": {"type": "object"}},
                        "photo_base64": {"type": "string"}}},
                    "removal": {"type": "object", "required": ["arrival_at"], "properties": {
                        "flight": {"type": "string"}, "arrival_airport": {"type": "string"},
                        "arrival_at": {"type": "string", "format": "date-time"}}},
                    "offending_summary": {"type": "string"}, "offences": {"type": "array", "items": {"type": "string"}},
                    "sentences": {"type": "array", "items": {"type": "string"}},
                    "gang_affiliation": {"type": "string"},
                    "risk_level": {"type": "string", "enum": ["low", "medium", "high"]},
                    "risk_notes": {"type": "string"}, "reintegration_needs": {"type": "string"},
                    "health": {"type": "string"}, "housing": {"type": "string"}, "family_contact": {"type": "string"},
                    "support_services": {"type": "string"}, "legal_basis": {"type": "string"},
                }},
            },
        },
    }
