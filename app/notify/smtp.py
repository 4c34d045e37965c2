"""Email over SMTP with app.outbound's guarantees: the name is resolved once and vetted (public
addresses only in production, unless the operator listed the host), the connection goes to
that vetted address (TLS checks the name), and one total deadline covers connect, TLS, the
conversation and the message: a watchdog shuts the socket when it passes."""

import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from .. import outbound
from .delivery import Outcome


class _PinnedSMTP(smtplib.SMTP):
    """smtplib dials `host`; this one dials the vetted address and keeps `host` for TLS."""

    def __init__(self, addresses: list[tuple], deadline: outbound.Deadline, watchdog: outbound.Watchdog, **kw: Any):
        self._addresses = addresses
        self._deadline = deadline
        self._watchdog = watchdog
        super().__init__(**kw)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return outbound._connect(self._addresses, self._deadline, self._watchdog)


class _PinnedSMTPSSL(_PinnedSMTP):
    default_port = smtplib.SMTP_SSL_PORT

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        sock = super()._get_socket(host, port, timeout)
        wrapped = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
        self._watchdog.guard(wrapped)
        return wrapped


def send_mail(target: Any, subject: str, body: str, policy: outbound.Policy) -> Outcome:
    """Send one email; 4xx SMTP replies and network trouble are retried, 5xx replies are final."""
    message = EmailMessage()
    message["Subject"] = subject[:200]
    message["From"] = target.sender
    message["To"] = ", ".join(target.recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="plantops")
    message.set_content(body)
    deadline = outbound.Deadline(policy.deadline_seconds)
    try:
        addresses = outbound.vetted_addresses(target.host, target.port, policy, deadline.remaining())
        with deadline.watch() as watchdog:  # OSError (smtplib's errors are OSErrors) -> timeout or unreachable
            return _converse(target, message, addresses, deadline, watchdog)
    except outbound.OutboundError as error:
        if error.kind == "timeout":
            return Outcome(False, retry=True, error=f"no answer within {policy.deadline_seconds:g} s")
        problem = "network error" if error.kind == "unreachable" else "not sent"
        return Outcome(False, retry=error.kind == "unreachable", error=f"{problem}: {error.message}")


def _converse(
    target: Any, message: EmailMessage, addresses: list[tuple], deadline: outbound.Deadline, watchdog: outbound.Watchdog
) -> Outcome:
    kind = _PinnedSMTPSSL if target.path == "ssl" else _PinnedSMTP
    client = kind(addresses, deadline, watchdog, timeout=max(deadline.remaining(), 0.01))
    try:
        client.connect(target.host, target.port)
        if target.path == "starttls":
            client.starttls(context=ssl.create_default_context())
        if target.user:
            client.login(target.user, target.password or "")
        deadline.check()
        client.send_message(message)
    except smtplib.SMTPAuthenticationError as error:
        return Outcome(False, error=f"SMTP {error.smtp_code}: the server refused the user name or password")
    except smtplib.SMTPRecipientsRefused:
        return Outcome(False, error="SMTP: the server refused the recipient")
    except smtplib.SMTPNotSupportedError:
        return Outcome(
            False, error="SMTP: the server does not offer STARTTLS (use mailto:// only on a trusted network)"
        )
    except smtplib.SMTPResponseException as error:
        if deadline.expired.is_set():
            raise
        return Outcome(False, retry=400 <= error.smtp_code < 500, error=f"SMTP {error.smtp_code}")
    except ssl.SSLCertVerificationError:
        return Outcome(False, error="SMTP: the server's TLS certificate is not valid for its name")
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()
    return Outcome(True)
