"""Webhooks: signed JSON to an organisation's systems.

Each request carries::

    X-Portal-Delivery:  the delivery id (stable across retries: de-duplicate on it)
    X-Portal-Event:     e.g. bulletin.published
    X-Portal-Timestamp: Unix seconds when this attempt was signed
    X-Portal-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the endpoint's secret>

To verify: recompute the HMAC over the timestamp, a full stop and the raw body bytes, compare in
constant time, and refuse timestamps more than five minutes old (see README).
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
import time
from urllib.parse import urlparse

import requests
from flask import current_app

from portal.api.formats import iso
from portal.notifications.email import view
from portal.outbox import Ceiling, Delivery, Subject, WebhookEndpoint

TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, timestamp: str, body: bytes, signature: str, now: float | None = None) -> bool:
    """What a receiver does (the portal's tests use it too)."""
    if not timestamp.isdigit() or abs((now or time.time()) - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def address_problem(url: str) -> str | None:
    """Why a webhook URL may not be used, or None. Production refuses private and loopback
    addresses (no requests into the portal's own network) and anything but https."""
    settings = current_app.extensions["portal_settings"]
    parsed = urlparse(url)
    if parsed.scheme not in ("https", "http") or not parsed.hostname:
        return "not an http(s) URL"
    if settings.production and parsed.scheme != "https":
        return "webhooks must use https"
    if settings.webhooks_may_reach_private_addresses:
        return None
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parsed.hostname, parsed.port or 443)}
    except OSError:
        return "the host name does not resolve"
    for address in addresses:
        ip = ipaddress.ip_address(address)
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast:
            return "private, loopback and reserved addresses are refused"
    return None


def body_for(delivery: Delivery, subject: Subject, ceiling: Ceiling) -> bytes:
    item = view(subject, ceiling)
    data = {
        "id": delivery.id,
        "event": delivery.message.event,
        "occurred_at": iso(delivery.message.created_at),
        "object": {
            "type": delivery.message.object_type,
            "reference": item["reference"],
            "url": item["url"],
            "classification": item["classification"],
            "tlp": item["tlp"],
            # Within the channel's ceiling only; above it, the receiver fetches it through the API.
            "title": item["title"] or None,
            "summary": item["summary"] or None,
            # Facts free of content (a receipt's hash, an arrival time), whatever the ceiling.
            "facts": [{"label": str(label), "value": iso(value) if hasattr(value, "astimezone") else value}
                      for label, value, _zone in item.get("facts", ())],
        },
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def post(endpoint: WebhookEndpoint, delivery: Delivery, subject: Subject, ceiling: Ceiling) -> tuple[bool, str]:
    problem = address_problem(endpoint.url)
    if problem:
        return False, f"refused: {problem}"
    body = body_for(delivery, subject, ceiling)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "PartnerSharingPortal-Webhooks/1",
        "X-Portal-Delivery": delivery.id,
        "X-Portal-Event": delivery.message.event,
        "X-Portal-Timestamp": timestamp,
        "X-Portal-Signature": sign(endpoint.secret, timestamp, body),
    }
    try:
        response = requests.post(endpoint.url, data=body, headers=headers, timeout=10, allow_redirects=False)
    except requests.RequestException as exc:
        return False, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return True, ""
    return False, f"HTTP {response.status_code}"
