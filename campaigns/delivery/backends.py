"""Handing messages to Django's email backends, and telling a failure worth retrying from one that isn't.

SMTP gets a backend of its own (`TwoPhaseSMTPBackend`) that lets the ledger decide at the last
possible moment whether a message goes out; every other backend (anymail's ESPs, the file outbox,
locmem in tests) is called as Django calls it.
"""

import smtplib
import socket
from collections.abc import Callable

from anymail.exceptions import AnymailAPIError, AnymailError, AnymailInvalidAddress, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends import smtp
from django.utils.module_loading import import_string

from campaigns.delivery.mime import envelope_address, message_bytes
from core.logging import get_logger

log = get_logger(__name__)

_CRLF = b"\r\n"


class DeliveryError(Exception):
    """A message the backend did not take.

    `transient`: worth another attempt later (a 4xx reply, a dropped connection, an ESP's 429 or 5xx).
    `committed`: the ledger row had already been marked sent when the refusal came (SMTP's reply to
    the final dot), so the caller has to take that back.
    `maybe_delivered`: the server had the whole message and went quiet; it may have delivered it, so the
    row stays sent (at most once) with this reason noted.
    """

    def __init__(self, reason: str, *, transient: bool, committed: bool = False, maybe_delivered: bool = False):
        super().__init__(reason)
        self.reason = reason[:1000]
        self.transient = transient
        self.committed = committed
        self.maybe_delivered = maybe_delivered


def _smtp_reply(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{code} {' '.join(text.split())}".strip()


def delivery_error(exc: BaseException) -> DeliveryError:
    """What a backend's exception means for the message: retry later, or record why it failed."""
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, AnymailRecipientsRefused | AnymailInvalidAddress):
        return DeliveryError(f"Refused by the email provider: {exc}", transient=False)
    if isinstance(exc, AnymailAPIError):
        status = exc.status_code
        # No status: the request never got an answer (timeout, connection refused).
        return DeliveryError(f"Email provider error: {exc}", transient=status is None or status == 429 or status >= 500)
    if isinstance(exc, AnymailError):
        return DeliveryError(f"Email provider error: {exc}", transient=False)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        (code, reply), *_ = exc.recipients.values()
        return DeliveryError(f"Recipient refused: {_smtp_reply(code, reply)}", transient=400 <= code < 500)
    if isinstance(exc, smtplib.SMTPResponseException):
        return DeliveryError(f"SMTP error: {_smtp_reply(exc.smtp_code, exc.smtp_error)}", transient=exc.smtp_code < 500)
    if isinstance(exc, smtplib.SMTPServerDisconnected | OSError):
        return DeliveryError(f"Connection to the mail server failed: {exc}", transient=True)
    if isinstance(exc, ValueError):  # Django's own address checks
        return DeliveryError(f"Invalid address: {exc}", transient=False)
    return DeliveryError(f"{type(exc).__name__}: {exc}", transient=False)


class TwoPhaseSMTPBackend(smtp.EmailBackend):
    """SMTP whose messages are sent exactly once, however the worker dies.

    `send_two_phase()` sends MAIL FROM, RCPT TO, DATA and the whole message except the terminating
    ".", then hands the caller a `send_dot` to call once it has committed the ledger's conditional
    "queued → sent" update: the dot is what makes the server accept the message.

    - killed before the commit: the row stays queued with a lease that lapses, the connection dies
      with an unterminated DATA, which an SMTP server discards (RFC 5321 §4.1.1.4: a transaction
      without its end of data is not delivered); another worker sends it later, once;
    - the commit loses (0 rows: another worker took the row after this one's lease ran out, or the
      campaign was cancelled): the connection is dropped without the dot, so the server discards
      this copy. (RSET can't abort DATA: inside DATA every line is message text.)
    - killed after the commit but before the dot is written, the message is lost rather than sent
      twice: the row says sent while the server discarded it. How wide that window is depends on
      the caller: waiting for the commit's reply before the dot, it is the whole commit (a WAL flush);
      sending the COMMIT and then the dot before reading either reply (see
      campaigns.delivery.sending.commit_then), it is the few microseconds between two writes.

    A reply other than 250 to the dot raises DeliveryError with `committed=True`; a connection lost
    while waiting for that reply raises one with `maybe_delivered=True` (the server may well have
    taken it, so it is never retried).
    """

    def open(self):
        opened = super().open()
        if opened:
            # The final dot goes out in a write of its own: with Nagle's algorithm it would wait for
            # the server's delayed ACK of the message text (40 ms on Linux) on every message.
            self.connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return opened

    def _drop(self) -> None:
        """Close the socket without QUIT: a DATA in progress stays unterminated, so it is discarded."""
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def _expect(self, reply: tuple[int, bytes], accepted: tuple[int, ...], what: str) -> None:
        code, message = reply
        if code in accepted:
            return
        if code == 421 or code == -1:  # the server is closing the connection
            self._drop()
        else:
            self.connection.rset()
        raise DeliveryError(f"{what} refused: {_smtp_reply(code, message)}", transient=400 <= code < 500 or code == -1)

    def send_two_phase(self, email_message: EmailMessage, commit: Callable[[Callable[[], None]], bool]) -> bool:
        """Send one message up to its final dot, then `commit(send_dot)`: the caller commits and calls
        `send_dot()` (or returns False without calling it, and the copy is abandoned). Returns
        whether the server accepted a message; raises DeliveryError when it refused or failed."""
        with self._lock:
            try:
                sender = envelope_address(email_message.from_email)
                recipients = [envelope_address(address) for address in email_message.recipients()]
                data = smtplib._quote_periods(message_bytes(email_message))  # smtplib's dot-stuffing
            except ValueError as exc:
                raise DeliveryError(f"The message could not be built: {exc}", transient=False) from exc
            if not data.endswith(_CRLF):
                data += _CRLF
            try:
                self.open()
                connection = self.connection
                connection.ehlo_or_helo_if_needed()
                self._expect(connection.mail(sender), (250,), "Sender")
                for recipient in recipients:
                    self._expect(connection.rcpt(recipient), (250, 251), "Recipient")
                self._expect(connection.docmd("DATA"), (354,), "Message")
                connection.send(data)
            except (smtplib.SMTPException, OSError) as exc:
                self._drop()
                raise delivery_error(exc) from exc

            def send_dot() -> None:
                connection.send(b"." + _CRLF)

            try:
                committed = commit(send_dot)
            except (smtplib.SMTPException, OSError) as exc:  # writing the dot failed, after the commit
                self._drop()
                raise DeliveryError(
                    f"Connection to the mail server failed: {exc}", transient=True, committed=True
                ) from exc
            except BaseException:
                self._drop()
                raise
            if not committed:
                self._drop()
                return False
            try:
                code, reply = connection.getreply()
            except (smtplib.SMTPException, OSError) as exc:
                self._drop()
                raise DeliveryError(
                    f"No reply from the mail server after the message was handed over ({exc}); it may have been "
                    "delivered, so it is not retried.",
                    transient=False,
                    committed=True,
                    maybe_delivered=True,
                ) from exc
            if code != 250:
                if code == 421:
                    self._drop()
                raise DeliveryError(
                    f"Message refused: {_smtp_reply(code, reply)}", transient=400 <= code < 500, committed=True
                )
            return True


def open_connection():
    """An open connection to the configured backend, to reuse across a batch. Django's SMTP backend
    is swapped for the two-phase one with the same settings."""
    backend = import_string(settings.EMAIL_BACKEND)
    connection = TwoPhaseSMTPBackend() if issubclass(backend, smtp.EmailBackend) else get_connection()
    try:
        connection.open()
    except (OSError, smtplib.SMTPException):
        # Sending reconnects (and records the failure on the row); opening early only saves a round trip.
        log.warning("email_backend_open_failed", exc_info=True)
    return connection


def connection_close(connection) -> None:
    try:
        connection.close()
    except (OSError, smtplib.SMTPException):
        log.warning("email_backend_close_failed", exc_info=True)
