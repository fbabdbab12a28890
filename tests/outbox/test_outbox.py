"""The outbox: written with the change (and dropped with its rollback), one message per key,
claimed by one worker only, retried with back-off, delivered by SMTP or as .eml files."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from tests.support.smtp import smtp_server
from tierslieu.db import Database
from tierslieu.i18n import SUPPORTED
from tierslieu.i18n.catalogue import catalogues
from tierslieu.models import OutboxMessage
from tierslieu.outbox import Recipient, enqueue
from tierslieu.outbox.compose import MAIL_KINDS
from tierslieu.outbox.store import backoff
from tierslieu.outbox.transports import DeliveryError, FileTransport, SmtpTransport, parse_smtp_url
from tierslieu.outbox.worker import deliver_pass

TZ = ZoneInfo("Europe/Paris")
NOW = datetime(2030, 3, 4, 8, 0, tzinfo=UTC)
SENDER = "Tiers-lieu de Trilport <ne-pas-repondre@trilport.test>"
ALICE = Recipient("Alice Martin", "alice@trilport.test", "fr", None)
BOB_EN = Recipient("Bob Smith", "bob@trilport.test", "en", None)
NO_EMAIL = Recipient("Mme Lefèvre", None, "fr", None)
START = datetime(2030, 3, 5, 9, 0, tzinfo=UTC)
ICS = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x@t\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"


def _params() -> dict[str, str]:
    return {
        "resource": "Salle du conseil",
        "start": START.isoformat(),
        "end": (START + timedelta(hours=1)).isoformat(),
        "expires": (NOW + timedelta(minutes=30)).isoformat(),
    }


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.dispose()


def _write(db: Database, key: str, to: Recipient = ALICE, *, commit: bool = True) -> None:
    with db.session(write=True) as session:
        enqueue(session, key=key, kind="booking_offered", to=to, params=_params(), ics=ICS, now=NOW)
        if commit:
            session.commit()
        else:
            session.rollback()


def _messages(db: Database) -> list[OutboxMessage]:
    with db.session() as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())  # type: ignore[arg-type]


class Recording:
    """A transport that keeps what it is given (optionally failing, optionally slow)."""

    name = "test"

    def __init__(self, fail: bool = False, delay: float = 0.0) -> None:
        self.sent: list[tuple[str, EmailMessage]] = []
        self.fail, self.delay = fail, delay
        self._lock = threading.Lock()

    def send(self, email: EmailMessage, key: str) -> None:
        if self.delay:
            threading.Event().wait(self.delay)
        if self.fail:
            raise DeliveryError("connection refused")
        with self._lock:
            self.sent.append((key, email))

    def close(self) -> None:
        self.closed = getattr(self, "closed", 0) + 1


def test_rollback_drops_the_message_and_a_key_is_written_once(db: Database) -> None:
    _write(db, "booking_offered:1", commit=False)
    assert _messages(db) == []
    _write(db, "booking_offered:1")
    _write(db, "booking_offered:1")  # the same event announced again: kept once
    messages = _messages(db)
    assert [(m.key, m.status, m.attempts) for m in messages] == [("booking_offered:1", "pending", 0)]


def test_person_without_email_is_undeliverable_not_failed(db: Database) -> None:
    _write(db, "booking_offered:2", NO_EMAIL)
    transport = Recording()
    report = deliver_pass(db, transport, NOW, sender=SENDER, tz=TZ)
    assert report.sent == [] and transport.sent == []
    (message,) = _messages(db)
    assert (message.status, message.last_error, message.attempts) == ("undeliverable", "outbox.no_address", 0)


def test_message_in_the_persons_language_with_its_calendar(db: Database) -> None:
    _write(db, "booking_offered:3", ALICE)
    _write(db, "booking_offered:4", BOB_EN)
    transport = Recording()
    report = deliver_pass(db, transport, NOW, sender=SENDER, tz=TZ)
    assert len(report.sent) == 2
    by_key = dict(transport.sent)
    french, english = by_key["booking_offered:3"], by_key["booking_offered:4"]
    assert french["Subject"] == "Un créneau s'est libéré : Salle du conseil, mardi 5 mars 2030 à 10:00"
    assert english["Subject"] == "A slot is free: Salle du conseil, Tuesday March 5, 2030 at 10:00"
    body = french.get_body(("plain",))
    assert body is not None and body.get_content().startswith("Bonjour Alice Martin,")
    assert "jusqu'à 09:30" in body.get_content()  # the offer expires 08:30 UTC = 09:30 in Paris
    (attachment,) = list(french.iter_attachments())
    assert attachment.get_content_type() == "text/calendar" and attachment.get_filename() == "invitation.ics"
    assert attachment.get_content().encode() == ICS or attachment.get_payload(decode=True) == ICS
    assert french["Message-ID"] != english["Message-ID"]
    assert all(m.status == "sent" and m.transport == "test" for m in _messages(db))
    # Sent once: a second pass finds nothing to do.
    assert not deliver_pass(db, transport, NOW + timedelta(hours=1), sender=SENDER, tz=TZ).changed
    assert len(transport.sent) == 2


def test_failures_back_off_then_give_up(db: Database) -> None:
    _write(db, "booking_offered:5")
    failing = Recording(fail=True)
    now = NOW
    for attempt in range(1, 4):
        report = deliver_pass(db, failing, now, sender=SENDER, tz=TZ, max_attempts=3)
        (message,) = _messages(db)
        assert message.attempts == attempt and "connection refused" in message.last_error
        if attempt < 3:
            assert report.retrying == [message.id] and message.status == "pending"
            assert message.next_attempt_at == now + backoff(attempt)
            # Not due yet: nothing is tried before the back-off has passed.
            assert not deliver_pass(
                db, failing, now + backoff(attempt) - timedelta(seconds=1), sender=SENDER, tz=TZ
            ).changed
            now = message.next_attempt_at
        else:
            assert report.failed == [message.id] and message.status == "failed"
    assert backoff(1) == timedelta(minutes=1) and backoff(4) == timedelta(minutes=8)
    assert backoff(30) == timedelta(hours=6)


def test_two_workers_racing_send_each_message_once(db: Database) -> None:
    for i in range(30):
        _write(db, f"booking_offered:race-{i}")
    transport = Recording(delay=0.002)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            for _ in range(5):
                deliver_pass(db, transport, NOW, sender=SENDER, tz=TZ, limit=7)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    keys = [key for key, _ in transport.sent]
    assert len(keys) == 30 and len(set(keys)) == 30
    assert {m.status for m in _messages(db)} == {"sent"} and {m.attempts for m in _messages(db)} == {1}


def test_without_smtp_the_eml_lands_in_the_folder(db: Database, tmp_path: Path) -> None:
    _write(db, "booking_offered:6")
    folder = tmp_path / "var" / "outbox"
    transport = FileTransport(folder)
    assert deliver_pass(db, transport, NOW, sender=SENDER, tz=TZ).sent
    (path,) = folder.glob("*.eml")
    assert path.name == "booking_offered-6.eml"
    email = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert email["To"] == "Alice Martin <alice@trilport.test>"
    assert [a.get_content_type() for a in email.iter_attachments()] == ["text/calendar"]
    assert _messages(db)[0].transport == "file"


def test_real_smtp_server_receives_the_messages_with_credentials(db: Database) -> None:
    _write(db, "booking_offered:7")
    _write(db, "booking_offered:7b", BOB_EN)
    with smtp_server() as inbox:
        report = deliver_pass(db, SmtpTransport(inbox.url), NOW, sender=SENDER, tz=TZ)
        assert len(report.sent) == 2 and inbox.logins == ["tierslieu"]  # one connection for the pass
        email = inbox.messages[0]
    assert inbox.recipients == [["alice@trilport.test"], ["bob@trilport.test"]]
    assert email["Subject"].startswith("Un créneau s'est libéré")
    assert [a.get_content_type() for a in email.iter_attachments()] == ["text/calendar"]


def test_smtp_down_is_retried_not_lost(db: Database) -> None:
    _write(db, "booking_offered:8")
    with smtp_server() as inbox:
        url = inbox.url
    report = deliver_pass(db, SmtpTransport(url, timeout=2), NOW, sender=SENDER, tz=TZ)  # the server is gone
    assert report.retrying
    with smtp_server() as inbox:
        transport = SmtpTransport(inbox.url)
        assert deliver_pass(db, transport, NOW + timedelta(minutes=1), sender=SENDER, tz=TZ).sent
        assert len(inbox.messages) == 1


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.trilport.test", ("mail.trilport.test", 25, False, False, None, None)),
        ("smtp://u:p%40ss@mail.test:587", ("mail.test", 587, False, True, "u", "p@ss")),
        ("smtp://u:p@mail.test:2525?starttls=true", ("mail.test", 2525, False, True, "u", "p")),
        ("smtp://u:p@mail.test:587?starttls=false", ("mail.test", 587, False, False, "u", "p")),
        ("smtps://u:p@mail.test", ("mail.test", 465, True, False, "u", "p")),
    ],
)
def test_smtp_urls(url: str, expected: tuple[object, ...]) -> None:
    parsed = parse_smtp_url(url)
    assert (
        parsed.host,
        parsed.port,
        parsed.implicit_tls,
        parsed.starttls,
        parsed.username,
        parsed.password,
    ) == expected
    assert "p@ss" not in repr(parsed)


@pytest.mark.parametrize("url", ["http://mail.test", "smtp://", "mail.test:25"])
def test_bad_smtp_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="TIERSLIEU_SMTP_URL"):
        parse_smtp_url(url)


def test_every_kind_has_its_texts_in_both_languages() -> None:
    catalogue = catalogues()
    missing = [
        (language, f"mail.{kind}.{part}")
        for kind in MAIL_KINDS
        for part in ("subject", "body")
        for language in SUPPORTED
        if not catalogue.has(language, f"mail.{kind}.{part}")
    ]
    assert missing == []
