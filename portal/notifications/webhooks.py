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
import os
import socket
import time
from typing import Any
from urllib.parse import unquote, urlparse

import requests
import urllib3

from portal.config import settings
from portal.i18n import gettext as _

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


#: Blocks ``ipaddress`` (Python 3.11) still calls global: IETF protocol assignments, the 6to4
#: relay anycast, local-use NAT64 (RFC 8215) and the new IPv6 documentation block.
NOT_GLOBAL = tuple(ipaddress.ip_network(n) for n in (
    "192.0.0.0/24", "192.88.99.0/24", "64:ff9b:1::/48", "3fff::/20"))
NAT64 = ipaddress.ip_network("64:ff9b::/96")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries and is delivered to: IPv4-mapped (::ffff:a.b.c.d),
    NAT64 (64:ff9b::/96) or 6to4 (2002::/16); None for any other IPv6 address (Teredo's 2001::/32
    is not global, so it is refused whatever it carries)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    return None


def is_public_address(address: str) -> bool:
    """True only for a globally routable unicast address, judged on the IPv4 address inside an
    IPv6 one when it carries one (``is_global`` alone passes ``64:ff9b::7f00:1``, i.e. 127.0.0.1)."""
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        inner = embedded_ipv4(ip)
        if inner is not None:
            return is_public_address(str(inner))
    if any(ip in network for network in NOT_GLOBAL if network.version == ip.version):
        return False
    return ip.is_global and not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
                                 or ip.is_reserved or ip.is_unspecified
                                 or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local))


def resolve(host: str, port: int) -> list[str]:
    """The host's addresses, in the resolver's order. Asked once per attempt: the address checked
    is the address connected to (see :func:`pinned_address`)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class AddressRefused(Exception):
    """A webhook address that may not be used; the message says why, in the reader's language."""


def _parsed(url: str) -> Any:
    conf = settings()
    parsed = urlparse(url)
    if parsed.scheme not in ("https", "http") or not parsed.hostname:
        raise AddressRefused(_("not an http(s) URL"))
    if conf.production and parsed.scheme != "https":
        raise AddressRefused(_("webhooks must use https"))
    return parsed


def pinned_address(url: str) -> tuple[Any, str]:
    """``url`` parsed, and the one address to connect to for this attempt. Every address the name
    resolves to must be public (unless the settings allow private ones), so no request reaches the
    portal's own network; the request then goes to the checked address and no other, which closes
    DNS rebinding (a second lookup that answers differently is never made)."""
    conf = settings()
    parsed = _parsed(url)
    try:
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        addresses = resolve(parsed.hostname, port)
    except (OSError, ValueError, UnicodeError):
        raise AddressRefused(_("the host name does not resolve")) from None
    if not addresses:
        raise AddressRefused(_("the host name does not resolve"))
    if not conf.webhooks_may_reach_private_addresses and not all(is_public_address(a) for a in addresses):
        raise AddressRefused(_("private, loopback and reserved addresses are refused"))
    return parsed, addresses[0]


def address_problem(url: str) -> str | None:
    """Why a webhook URL may not be used, or None (when it is registered; each delivery checks
    again). Production refuses anything but https, and any address that is not public (no requests
    into the portal's own network); where private addresses are allowed, the name need not resolve
    yet."""
    try:
        if settings().webhooks_may_reach_private_addresses:
            _parsed(url)
        else:
            pinned_address(url)
    except AddressRefused as refused:
        return str(refused)
    return None


def ca_bundle() -> str:
    """The certificate authorities webhook servers are verified against (as ``requests`` chooses)."""
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or requests.certs.where()


def send_pinned(parsed: Any, address: str, body: bytes, headers: dict[str, str]) -> int:
    """POST ``body`` to ``address`` while speaking to ``parsed``'s host: the ``Host`` header and,
    for https, the TLS server name and the certificate check are the host name's, not the address's."""
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    options: dict[str, Any] = {"port": port, "timeout": urllib3.Timeout(connect=5, read=10), "retries": False,
                               "maxsize": 1}
    if parsed.scheme == "https":
        pool: urllib3.HTTPConnectionPool = urllib3.HTTPSConnectionPool(
            address, server_hostname=parsed.hostname, assert_hostname=parsed.hostname, cert_reqs="CERT_REQUIRED",
            ca_certs=ca_bundle(), **options)
    else:
        pool = urllib3.HTTPConnectionPool(address, **options)
    headers = {**headers, "Host": parsed.netloc.rpartition("@")[2]}
    if parsed.username is not None:
        headers.update(urllib3.util.make_headers(basic_auth=f"{unquote(parsed.username)}:{unquote(parsed.password or '')}"))
    path = (parsed.path or "/") + (f"?{parsed.query}" if parsed.query else "")
    with pool:
        response = pool.urlopen("POST", path, body=body, headers=headers, redirect=False, assert_same_host=False,
                                preload_content=True)
    return response.status


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
    try:
        parsed, address = pinned_address(endpoint.url)
    except AddressRefused as refused:
        return False, f"refused: {refused}"
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
        status = send_pinned(parsed, address, body, headers)
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        return False, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= status < 300:
        return True, ""
    return False, f"HTTP {status}"
