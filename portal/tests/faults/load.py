"""A bounded load of real SCEP enrollments (``enrollment.scep.ScepClient`` in threads), as devices behave.

Each device has its own key, a self-signed signer and the transactionID of its key. It sends its PKCSReq
until it gets a SCEP answer; after PENDING it polls with CertPoll until SUCCESS or FAILURE. An HTTP 503,
a reset or refused connection is answered by sending the same request again (a retransmission: the
server finds the transaction by transactionID and key), after a short pause; the pause is short (at
most 1 s, whatever Retry-After says) so that a test stays bounded. Every HTTP exchange is counted by its
answer; a device still without SUCCESS or FAILURE at the deadline is a stall.
"""

from __future__ import annotations

import enum
import heapq
import http.client
import os
import queue
import threading
import time
import urllib.error
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from enrollment import scep

__all__ = ["Answer", "Device", "Enrollment", "Load", "devices_make"]


class Answer(enum.StrEnum):
    SUCCESS = "SUCCESS"
    PENDING = "PENDING"
    FAILURE = "FAILURE"
    UNAVAILABLE = "503"
    SERVER_ERROR = "500"
    OTHER_HTTP = "other HTTP status"
    NO_ANSWER = "no answer (connection refused or reset)"
    BAD_REPLY = "unreadable reply"


@dataclass(frozen=True)
class Device:
    name: str
    key: rsa.RSAPrivateKey
    csr: x509.CertificateSigningRequest
    signer: scep.ScepIdentity
    transaction_id: str


@dataclass
class Enrollment:
    device: Device
    answers: list[Answer] = field(default_factory=list)
    result: Answer | None = None
    serial: int | None = None
    fail_info: str = ""
    errors: list[str] = field(default_factory=list)


def devices_make(prefix: str, count: int, *, challenge: str) -> list[Device]:
    devices = []
    for index in range(count):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{prefix}-{index:03d}")])
        devices.append(
            Device(
                name=f"{prefix}-{index:03d}",
                key=key,
                csr=scep.build_csr(key, subject, challenge_password=challenge),
                signer=scep.ScepIdentity(certificate=scep.self_signed_signer(key, subject), key=key),
                transaction_id=scep.transaction_id_for(key.public_key()),
            )
        )
    return devices


def _classify(exc: scep.ScepClientError) -> Answer:
    cause = exc.__cause__
    if isinstance(cause, urllib.error.HTTPError):
        return {503: Answer.UNAVAILABLE, 500: Answer.SERVER_ERROR}.get(cause.code, Answer.OTHER_HTTP)
    if isinstance(cause, OSError | http.client.HTTPException):
        return Answer.NO_ANSWER
    return Answer.BAD_REPLY


class Load:
    """``devices`` enrolled by ``concurrency`` threads, in the background; ``wait`` returns the results."""

    def __init__(
        self,
        url: str,
        devices: Sequence[Device],
        *,
        concurrency: int,
        deadline: float,
        timeout: float = 30.0,
        identical: bool = False,
    ) -> None:
        """``identical``: each device's PKCSReq is one message, built once, sent byte for byte by every
        enrollment of the device, the first ones all at once (a barrier).
        """
        self.url = url
        self.devices = list(devices)
        self.concurrency = concurrency
        self.deadline = deadline
        self.timeout = timeout
        self.enrollments = [Enrollment(device) for device in self.devices]
        self._lock = threading.Lock()
        self._answers: Counter[Answer] = Counter()
        self._clients: queue.Queue[scep.ScepClient] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.started = 0.0
        self.seconds = 0.0
        self.stop = threading.Event()
        self.identical = identical
        self._messages: dict[str, tuple[bytes, bytes]] = {}  # transactionID -> (DER, senderNonce)
        self._barrier = threading.Barrier(concurrency) if identical else None

    def prime(self) -> None:
        """One client per thread, with GetCACaps and GetCACert done while the topology is healthy (the
        client keeps them, as a device does between its requests).
        """
        for _ in range(self.concurrency):
            client = scep.ScepClient(self.url, timeout=self.timeout)
            client.get_ca_caps()
            client.get_ca_cert()
            self._clients.put(client)
        if self.identical:
            for device in self.devices:
                self._messages.setdefault(device.transaction_id, self._pkcs_req(client, device))

    @staticmethod
    def _pkcs_req(client: scep.ScepClient, device: Device) -> tuple[bytes, bytes]:
        cipher, digest = scep.choose_algorithms(client.get_ca_caps(), client.policy)
        nonce = os.urandom(16)
        message = scep.build_pki_message(
            message_type=scep.MessageType.PKCS_REQ,
            transaction_id=device.transaction_id,
            sender_nonce=nonce,
            message_data=device.csr.public_bytes(serialization.Encoding.DER),
            recipient_certificate=scep.select_recipient(client.get_ca_cert()),
            signer_certificate=device.signer.certificate,
            signer_key=device.signer.key,
            cipher=cipher,
            digest=digest,
        )
        return message, nonce

    def _send_identical(self, client: scep.ScepClient, device: Device) -> scep.CertRepResult:
        message, nonce = self._messages[device.transaction_id]
        reply = client.pki_operation(message)
        return scep.parse_cert_rep(
            reply,
            signer_key=device.signer.key,
            signer_certificate=device.signer.certificate,
            expected_recipient_nonce=nonce,
            ra_certificate=client.get_ca_cert(),
            expected_transaction_id=device.transaction_id,
            policy=client.policy,
        )

    def start(self) -> Load:
        if self._clients.empty():
            self.prime()
        self.started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="fault-load", daemon=True)
        self._thread.start()
        return self

    def run(self) -> list[Enrollment]:
        return self.start().wait()

    def wait(self) -> list[Enrollment]:
        assert self._thread is not None
        self._thread.join(timeout=self.deadline + 2 * self.timeout + 10)
        assert not self._thread.is_alive(), "the load did not end"
        return self.enrollments

    def answered(self, *kinds: Answer) -> int:
        with self._lock:
            return sum(self._answers[kind] for kind in kinds) if kinds else sum(self._answers.values())

    def answer_counts(self) -> dict[str, int]:
        with self._lock:
            return {str(kind): count for kind, count in sorted(self._answers.items())}

    def finished(self) -> int:
        return sum(1 for enrollment in self.enrollments if enrollment.result is not None)

    def _run(self) -> None:
        """``concurrency`` threads take the device whose next request is due soonest: every device goes on
        (a PENDING one polls while others send their PKCSReq), at most ``concurrency`` requests at a time.
        """
        due: list[tuple[float, int, _Progress]] = [
            (self.started, index, _Progress(enrollment)) for index, enrollment in enumerate(self.enrollments)
        ]
        heapq.heapify(due)
        ready = threading.Condition()

        def device_thread() -> None:
            while True:
                with ready:
                    if not due:
                        return
                    when, index, progress = heapq.heappop(due)
                wait = when - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                if self._step(progress):
                    with ready:
                        heapq.heappush(due, (time.monotonic() + progress.pause, index, progress))

        threads = [
            threading.Thread(target=device_thread, name=f"device-{n}", daemon=True)
            for n in range(self.concurrency)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.seconds = time.monotonic() - self.started

    def _record(self, enrollment: Enrollment, answer: Answer) -> None:
        enrollment.answers.append(answer)
        with self._lock:
            self._answers[answer] += 1

    def _exchange(
        self, enrollment: Enrollment, call: Callable[[scep.ScepClient], scep.CertRepResult]
    ) -> Answer:
        client = self._clients.get()
        try:
            reply = call(client)
        except scep.ScepClientError as exc:
            answer = _classify(exc)
            enrollment.errors.append(str(exc)[:200])
        except Exception as exc:  # a reply that does not parse: counted, never hidden
            answer = Answer.BAD_REPLY
            enrollment.errors.append(f"{type(exc).__name__}: {exc}"[:200])
        else:
            answer = Answer(reply.status.name)
            if reply.status == scep.PkiStatus.SUCCESS:
                assert reply.certificate is not None
                enrollment.serial = reply.certificate.serial_number
            elif reply.status == scep.PkiStatus.FAILURE:
                enrollment.fail_info = str(reply.fail_info_text)
        finally:
            self._clients.put(client)
        self._record(enrollment, answer)
        return answer

    def _step(self, progress: _Progress) -> bool:
        """One request of the device; whether it goes on (no SUCCESS or FAILURE yet, before the deadline)."""
        enrollment = progress.enrollment
        device = enrollment.device
        if time.monotonic() >= self.started + self.deadline or self.stop.is_set():
            return False
        if self._barrier is not None and not progress.started:
            self._barrier.wait(timeout=self.timeout)
        progress.started = True
        if progress.accepted:
            answer = self._exchange(
                enrollment,
                lambda client: client.poll(
                    device.csr, signer=device.signer, transaction_id=device.transaction_id
                ),
            )
        elif self.identical:
            answer = self._exchange(enrollment, lambda client: self._send_identical(client, device))
        else:
            answer = self._exchange(
                enrollment,
                lambda client: client.enroll(
                    device.csr, device.key, signer=device.signer, transaction_id=device.transaction_id
                ),
            )
        if answer in (Answer.SUCCESS, Answer.FAILURE):
            enrollment.result = answer
            return False
        if answer == Answer.PENDING:
            progress.accepted = True
        progress.pause = min(progress.pause * 1.5, 1.0)
        return True


@dataclass
class _Progress:
    enrollment: Enrollment
    accepted: bool = False  # a SCEP answer came back: poll from now on
    started: bool = False
    pause: float = 0.2
