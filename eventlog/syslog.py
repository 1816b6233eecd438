"""The event log streamed to a SIEM: each event as one CEF line over syslog (``CERTPORTAL_EVENT_SYSLOG``).

``udp://siem.example.com:514`` (one datagram per event) or ``tcp://siem.example.com:601`` (one line per event,
newline-framed as RFC 6587 describes); ``?facility=local4`` picks the syslog facility (default ``local0``).
Each line is ``<PRI>TIMESTAMP HOST certportal: CEF:0|certportal|certportal|<version>|<event ID>|<name>|
<severity>|<extension>``: the event ID and its reference name (10010 StartedConnectorService, 20100
PkcsCertIssue_Success, ...), severity 3 / 6 / 8 for information / warning / error, and in the extension the
message, the device's address (``src``), the user (``suser``), the device (``deviceExternalId``), the SCEP
transactionID, the request id that the logs carry (``core.request_ids``), the CA, template and serial, the
diagnostic code and failInfo.

Streaming never fails an event: a SIEM that cannot be reached costs a warning in the log (and, over TCP, no
new attempt for ``RETRY_AFTER`` seconds), not a device's answer.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from core.request_ids import request_id_get

__all__ = ["SyslogTarget", "cef_line", "event_stream", "syslog_target_parse"]

logger = logging.getLogger(__name__)

PRODUCT_VERSION = "1.0"
RETRY_AFTER = 30.0
_FACILITIES = {"user": 1, "daemon": 3, "auth": 4, "authpriv": 10, **{f"local{n}": 16 + n for n in range(8)}}
#: CEF severity (0-10) and syslog severity (RFC 5424) of each event level.
_SEVERITIES = {"information": (3, 6), "warning": (6, 4), "error": (8, 3)}
#: The extension's keys for the event's links: CEF's own where it has one, else a labelled custom string.
_LINK_KEYS = (
    ("client_address", "src", ""),
    ("user_principal_name", "suser", ""),
    ("device_external_id", "deviceExternalId", ""),
    ("transaction_id", "cs1", "scepTransactionId"),
    ("request_id", "cs2", "requestId"),
    ("ca_name", "cs3", "ca"),
    ("template_name", "cs4", "template"),
    ("serial", "cs5", "serial"),
    ("service_slug", "cs6", "scepService"),
)


@dataclass(frozen=True)
class SyslogTarget:
    transport: str
    host: str
    port: int
    facility: int


def syslog_target_parse(url: str) -> SyslogTarget:
    """``udp://host:514`` or ``tcp://host:601`` (``?facility=local0``); ValueError naming what is wrong."""
    parts = urlsplit(url.strip())
    if parts.scheme not in {"udp", "tcp"}:
        raise ValueError(f"the syslog URL must be udp://host:port or tcp://host:port, not {url!r}")
    if not parts.hostname:
        raise ValueError(f"the syslog URL {url!r} names no host")
    try:
        port = parts.port or 514
    except ValueError as exc:
        raise ValueError(f"the syslog URL {url!r} has no valid port") from exc
    facility_name = (parse_qs(parts.query).get("facility") or ["local0"])[0].lower()
    if facility_name not in _FACILITIES:
        raise ValueError(f"unknown syslog facility {facility_name!r}: one of {', '.join(_FACILITIES)}")
    return SyslogTarget(parts.scheme, parts.hostname, port, _FACILITIES[facility_name])


def _header(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _extension(value: object) -> str:
    text = str(value).replace("\\", "\\\\").replace("=", "\\=")
    return text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\r")


def cef_line(
    *,
    event_id: int,
    name: str,
    level: str,
    message: str,
    created_at: dt.datetime,
    diagnostic_code: int | None,
    links: Mapping[str, Any],
    record_id: int | None = None,
) -> str:
    """The CEF text of one event (without the syslog header)."""
    severity = _SEVERITIES.get(level, (5, 5))[0]
    fields: list[tuple[str, object]] = [
        ("rt", int(created_at.timestamp() * 1000)),
        ("msg", message),
    ]
    for link, key, label in _LINK_KEYS:
        value = links.get(link)
        if value in (None, ""):
            continue
        if key == "src":
            try:
                value = str(ipaddress.ip_address(str(value)))
            except ValueError:
                continue
        if label:
            fields.append((f"{key}Label", label))
        fields.append((key, value))
    if diagnostic_code is not None:
        fields += [("cn1Label", "diagnosticCode"), ("cn1", diagnostic_code)]
    if links.get("fail_info") is not None:
        fields += [("cn2Label", "failInfo"), ("cn2", links["fail_info"])]
    if links.get("message_type") is not None:
        fields += [("cn3Label", "messageType"), ("cn3", links["message_type"])]
    if record_id is not None:
        fields.append(("externalId", record_id))
    extension = " ".join(f"{key}={_extension(value)}" for key, value in fields)
    header = "|".join(
        _header(part)
        for part in ("CEF:0", "certportal", "certportal", PRODUCT_VERSION, event_id, name, severity)
    )
    return f"{header}|{extension}"


class _Sender:
    def __init__(self, target: SyslogTarget) -> None:
        self.target = target
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._failed_at = 0.0
        self._hostname = socket.gethostname() or "-"

    def send(self, *, level: str, cef: str, created_at: dt.datetime) -> None:
        priority = self.target.facility * 8 + _SEVERITIES.get(level, (5, 5))[1]
        stamp = created_at.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        line = f"<{priority}>1 {stamp} {self._hostname} certportal - - - {cef}".encode()
        with self._lock:
            if self.target.transport == "udp":
                self._udp(line)
            else:
                self._tcp(line)

    def _udp(self, line: bytes) -> None:
        if self._socket is None:
            self._socket = socket.socket(
                socket.AF_INET6 if ":" in self.target.host else socket.AF_INET, socket.SOCK_DGRAM
            )
        self._socket.sendto(line[:65000], (self.target.host, self.target.port))

    def _tcp(self, line: bytes) -> None:
        if self._socket is None:
            if time.monotonic() - self._failed_at < RETRY_AFTER:
                return
            try:
                self._socket = socket.create_connection((self.target.host, self.target.port), timeout=2)
            except OSError:
                self._failed_at = time.monotonic()
                raise
        try:
            self._socket.sendall(line.replace(b"\n", b" ") + b"\n")
        except OSError:
            self._socket.close()
            self._socket = None
            self._failed_at = time.monotonic()
            raise


_senders: dict[str, _Sender] = {}
_senders_lock = threading.Lock()


def _sender(url: str) -> _Sender:
    with _senders_lock:
        sender = _senders.get(url)
        if sender is None:
            sender = _senders[url] = _Sender(syslog_target_parse(url))
        return sender


def event_stream(
    *,
    url: str,
    event_id: int,
    name: str,
    level: str,
    message: str,
    diagnostic_code: int | None,
    links: Mapping[str, Any],
    record_id: int | None = None,
    created_at: dt.datetime | None = None,
) -> None:
    """Send one event to the SIEM at ``url``; a failure is logged, never raised."""
    when = created_at or dt.datetime.now(tz=dt.UTC)
    cef = cef_line(
        event_id=event_id,
        name=name,
        level=level,
        message=message,
        created_at=when,
        diagnostic_code=diagnostic_code,
        links={"request_id": request_id_get(), **links},
        record_id=record_id,
    )
    try:
        _sender(url).send(level=level, cef=cef, created_at=when)
    except (OSError, ValueError) as exc:
        logger.warning("event %s not streamed to %s: %s", event_id, url, exc)
