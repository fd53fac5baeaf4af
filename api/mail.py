"""Outgoing e-mail: through SMTP when configured, else into a local outbox of .eml files."""

from __future__ import annotations

import contextlib
import email.policy
import email.utils
import hashlib
import os
import re
import smtplib
import ssl
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from .private_files import private_directory

# Keys become file names, so they are held to a safe alphabet.
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_SMTP_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class Message:
    """One e-mail to one recipient; attachments are (filename, media type, data)."""

    to: str
    subject: str
    text: str
    attachments: tuple[tuple[str, str, bytes], ...] = ()


@dataclass(frozen=True)
class OutboxEntry:
    """A message found in the local outbox, for the development mailbox page."""

    name: str
    to: str
    subject: str
    date: datetime
    text: str


class Mailer:
    """Sends messages; synchronous, meant to run inside RQ jobs."""

    def __init__(
        self, smtp_url: str | None, outbox: Path, sender: str = "Antri <no-reply@antri.local>"
    ) -> None:
        self.smtp_url = smtp_url
        self.outbox = outbox
        self.sender = sender
        # Parsed now so a bad setting fails at start-up, not in the first job.
        self._smtp = _SmtpTarget.parse(smtp_url) if smtp_url is not None else None

    def send(self, message: Message, key: str | None = None) -> str:
        """Send once per `key`; returns the outbox file name, or the Message-ID over SMTP."""
        if key is not None and not _KEY.fullmatch(key):
            raise ValueError(f"mail key {key!r} must match {_KEY.pattern}")
        email_message = self._compose(message, key)
        if self._smtp is None:
            return self._write_outbox(email_message, key)
        return self._send_smtp(self._smtp, email_message, key)

    def _compose(self, message: Message, key: str | None) -> EmailMessage:
        domain = email.utils.parseaddr(self.sender)[1].rpartition("@")[2] or "antri.local"
        composed = EmailMessage()
        # The default policy refuses CR/LF in header values, so no header injection via subject.
        composed["From"] = self.sender
        composed["To"] = message.to
        composed["Subject"] = message.subject
        composed["Date"] = email.utils.format_datetime(datetime.now(UTC))
        # A key-derived Message-ID lets receiving servers drop a duplicate resent after a crash.
        composed["Message-ID"] = (
            f"<{key}@{domain}>" if key is not None else email.utils.make_msgid(domain=domain)
        )
        composed.set_content(message.text)
        for filename, media_type, data in message.attachments:
            maintype, _, subtype = media_type.partition("/")
            composed.add_attachment(
                data,
                maintype=maintype,
                subtype=subtype or "octet-stream",
                filename=filename,
            )
        return composed

    def _write_outbox(self, composed: EmailMessage, key: str | None) -> str:
        data = composed.as_bytes(policy=email.policy.SMTP)
        if key is not None:
            name = f"{key}.eml"
        else:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
            name = f"{stamp}-{hashlib.sha256(data).hexdigest()[:12]}.eml"
        private_directory(self.outbox)
        final = self.outbox / name
        if final.exists():
            return name
        temp = _write_temp(self.outbox, data)
        try:
            # link() fails if the name exists, so two racing sends of one key leave one file.
            os.link(temp, final)
        except FileExistsError:
            pass
        finally:
            temp.unlink(missing_ok=True)
        return name

    def _send_smtp(self, target: _SmtpTarget, composed: EmailMessage, key: str | None) -> str:
        marker = self.outbox / "sent" / key if key is not None else None
        if marker is not None and marker.exists():
            return marker.read_text(encoding="utf-8").strip() or str(composed["Message-ID"])
        with target.connect() as smtp:
            smtp.send_message(composed)
        message_id = str(composed["Message-ID"])
        if marker is not None:
            # At-least-once: a crash between the send and this write means one resend.
            private_directory(marker.parent)
            temp = _write_temp(marker.parent, message_id.encode())
            os.replace(temp, marker)
        return message_id


@dataclass(frozen=True)
class _SmtpTarget:
    secure: bool
    starttls: bool
    host: str
    port: int
    username: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> _SmtpTarget:
        """Read smtp://user:pass@host:port, smtps://…, or smtp://…?starttls=1."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("the SMTP URL must look like smtp[s]://[user:pass@]host[:port]")
        secure = parts.scheme == "smtps"
        starttls = parse_qs(parts.query).get("starttls", ["0"])[-1].lower() in ("1", "true", "yes")
        return cls(
            secure=secure,
            starttls=starttls and not secure,
            host=parts.hostname,
            port=parts.port or (465 if secure else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    def connect(self) -> smtplib.SMTP:
        """An open, authenticated SMTP session."""
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.secure:
            smtp = smtplib.SMTP_SSL(
                self.host, self.port, timeout=_SMTP_TIMEOUT_SECONDS, context=context
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=_SMTP_TIMEOUT_SECONDS)
        try:
            smtp.ehlo()
            if self.starttls:
                smtp.starttls(context=context)
                smtp.ehlo()
            if self.username is not None:
                smtp.login(self.username, self.password or "")
        except BaseException:
            with contextlib.suppress(Exception):
                smtp.close()
            raise
        return smtp


def read_outbox(outbox: Path, limit: int = 50) -> list[OutboxEntry]:
    """The newest `limit` messages in the outbox, newest first."""
    if not outbox.is_dir():
        return []
    files = [(path.stat().st_mtime_ns, path) for path in outbox.glob("*.eml")]
    # Key-named files do not sort by name, so order by when they were written.
    files.sort(key=lambda item: (item[0], item[1].name), reverse=True)
    return [_read_entry(path, mtime_ns) for mtime_ns, path in files[:limit]]


def _read_entry(path: Path, mtime_ns: int) -> OutboxEntry:
    with path.open("rb") as handle:
        parsed = BytesParser(policy=email.policy.default).parse(handle)
    assert isinstance(parsed, EmailMessage)
    try:
        sent = email.utils.parsedate_to_datetime(str(parsed["Date"]))
    except (TypeError, ValueError):
        sent = datetime.fromtimestamp(mtime_ns / 1e9, UTC)
    body = parsed.get_body(preferencelist=("plain",))
    text = body.get_content() if isinstance(body, EmailMessage) else ""
    return OutboxEntry(
        name=path.name,
        to=str(parsed["To"] or ""),
        subject=str(parsed["Subject"] or ""),
        date=sent,
        text=str(text).replace("\r\n", "\n"),
    )


def _write_temp(directory: Path, data: bytes) -> Path:
    """Write `data` durably to a hidden temp file in `directory` (same filesystem as its target)."""
    fd, name = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)
