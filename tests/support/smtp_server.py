"""A real SMTP server for tests (aiosmtpd): STARTTLS offered under a throwaway certificate,
implicit TLS, or plain text (a relay, or a man in the middle that strips STARTTLS); injectable
temporary failures and QUIT answers; it keeps every message it accepted and every login."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.common import processes


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (the test trusts it through SSL_CERT_FILE)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp.crt", directory / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def encrypted(server: Any) -> bool:
    """Whether this SMTP connection is TLS, upgraded by STARTTLS or from the first byte."""
    return server.transport.get_extra_info("ssl_object") is not None


class Inbox:
    """The aiosmtpd handler: accepts messages, or refuses the next `fail_next` with a 451."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[list[str]] = []
        self.fail_next = 0
        self.attempts = 0
        self.tls_used: list[bool] = []
        self.logins: list[tuple[str, bool]] = []  # (username, over TLS) of every AUTH
        self.quit_reply: str | None = None  # e.g. a 421 after the message was accepted

    def authenticate(
        self, server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((data.login.decode(), encrypted(server)))
        return AuthResult(success=True)

    async def handle_QUIT(self, _server: Any, _session: Any, _envelope: Any) -> str:
        return self.quit_reply or "221 Bye"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.attempts += 1
        if self.fail_next:
            self.fail_next -= 1
            return "451 4.3.0 Try again later"
        self.tls_used.append(encrypted(server))
        self.envelopes.append(list(envelope.rcpt_tos))
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"


class SmtpServer:
    """`security`: "starttls" (offered; AUTH only after it), "tls" (implicit, from the first
    byte) or "none" (no TLS at all, and AUTH taken in clear)."""

    def __init__(self, directory: Path, security: str = "starttls") -> None:
        self.cert, key = self_signed(directory)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, key)
        self.inbox = Inbox()
        self.port = processes.free_port()
        tls: dict[str, Any] = {
            "starttls": {"tls_context": context},
            # aiosmtpd sees no STARTTLS here: AUTH is offered once the whole connection is TLS.
            "tls": {"ssl_context": context, "auth_require_tls": False},
            "none": {"auth_require_tls": False},
        }[security]
        self.controller = Controller(
            self.inbox,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=self.inbox.authenticate,
            **tls,
        )

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.controller.stop()
