"""Outbox throughput: 10,000 e-mails through the whole engine versus a bare smtplib loop.

Queues 10,000 e-mails (1,000 readers × 10 bulletins, each re-checked by the access policy and
rendered in the reader's language as text and HTML), delivers them to a local SMTP sink
(aiosmtpd), and sends the same 10,000 composed messages with a bare ``smtplib`` loop over one
connection to the same sink in the same run. Prints messages per second for both and their ratio
(target: >= 0.5).

    .venv/bin/python bench/outbox.py [--messages N] [--database-url URL]
"""
from __future__ import annotations

import argparse
import smtplib
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiosmtpd.controller import Controller  # noqa: E402


class CountingHandler:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.count += 1
        return "250 OK"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    readers, bulletins = 1000, max(1, args.messages // 1000)

    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from app import create_app
    from portal.accounts.models import User
    from portal.bulletins.models import Bulletin, BulletinAudience
    from portal.extensions import db
    from portal.notifications import delivery as engine
    from portal.organisations.models import Organisation
    from portal.outbox import Delivery, notify
    from portal.types import utcnow
    from portal.vocabulary import Classification, Role

    workdir = Path(tempfile.mkdtemp(prefix="bench-outbox-"))
    port = free_port()
    handler = CountingHandler()
    sink = Controller(handler, hostname="127.0.0.1", port=port)
    sink.start()
    app = create_app({"env": "test", "database_url": args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}",
                      "instance_path": str(workdir), "secret_key": "b" * 48, "audit_key": "a" * 48,
                      "smtp_port": port, "delivery_batch_size": 500})
    with app.app_context():
        upgrade()
        customs = Organisation(slug="customs", name="Customs", kind="government", sector="customs", country="NZ")
        bank = Organisation(slug="bank", name="Bank", kind="private", sector="banking", country="NZ")
        db.session.add_all([customs, bank])
        db.session.flush()
        languages = ["en", "fr", "mi", "sm", "to"]
        for n in range(readers):
            user = User(email=f"reader{n}@bank.example", display_name=f"Reader {n}", organisation_id=bank.id,
                        clearance=Classification.IN_CONFIDENCE, locale=languages[n % len(languages)],
                        time_zone="Pacific/Auckland")
            user.set_roles({Role.VIEWER})
            db.session.add(user)
        for n in range(bulletins):
            bulletin = Bulletin(author_org_id=customs.id, title=f"Bulletin {n}: container seal tampering",
                                summary="Reefer containers with altered seal numbers.", status="published",
                                classification=Classification.IN_CONFIDENCE, tlp="GREEN", published_at=utcnow())
            bulletin.audience.append(BulletinAudience(kind="org", value="bank"))
            db.session.add(bulletin)
            db.session.flush()
            notify("bulletin.published", "bulletin", bulletin.id)
        db.session.commit()

        started = time.perf_counter()
        while engine.dispatch(limit=50):
            pass
        dispatch_seconds = time.perf_counter() - started
        queued = db.session.scalar(select(func.count()).select_from(Delivery).where(Delivery.channel == "email"))

        started = time.perf_counter()
        while engine.deliver_email():
            pass
        engine_seconds = time.perf_counter() - started
        delivered = handler.count

        # The baseline: the same messages, composed beforehand, sent in a bare loop.
        users = {u.id: u for u in db.session.scalars(select(User))}
        topic = engine.TOPICS["bulletin"]
        from portal.i18n import reading_as
        from portal.notifications import email as email_channel

        messages = []
        for delivery in db.session.scalars(select(Delivery).where(Delivery.channel == "email")):
            user = users[delivery.user_id]
            with reading_as(user.locale, user.time_zone):
                messages.append(email_channel.compose_one(delivery, user, topic.describe(
                    topic.load(delivery.message.object_id)), engine.ceiling("email")))
        handler.count = 0
        started = time.perf_counter()
        connection = smtplib.SMTP("127.0.0.1", port)
        for message in messages:
            connection.send_message(message)
        connection.quit()
        bare_seconds = time.perf_counter() - started
    sink.stop()

    engine_rate, bare_rate = delivered / engine_seconds, len(messages) / bare_seconds
    print(f"queued e-mails:        {queued} ({readers} readers x {bulletins} bulletins); dispatch took "
          f"{dispatch_seconds:.1f} s")
    print(f"engine delivered:      {delivered} in {engine_seconds:.2f} s = {engine_rate:,.0f} messages/s")
    print(f"bare smtplib loop:     {len(messages)} in {bare_seconds:.2f} s = {bare_rate:,.0f} messages/s")
    print(f"ratio engine / bare:   {engine_rate / bare_rate:.2f}  (target >= 0.5)")


if __name__ == "__main__":
    main()
