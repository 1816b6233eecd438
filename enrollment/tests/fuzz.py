"""A seeded mutation fuzzer of the SCEP endpoint: valid pkiMessages, broken at random, sent to the view.

Mutations of a valid message (``Mutator``): bit flips, random bytes, truncation, insertion, deletion,
duplication, splices with another message, and corrupted DER lengths (the length of a TLV the message
really has: zeroed, off by one, indefinite, 4 GiB, or one byte longer of length). Each mutated message goes
through the Django test client to the real view, by POST, or by GET in base64 (one in ten); ``fuzz_run``
counts the answers by HTTP status, pkiStatus and failInfo and counts what must stay at zero: HTTP 500,
exceptions that escape the view, and errors the endpoint logs as unexpected.

Used by ``test_bad_input_fuzz.py``: a bounded run in the suite and the documented long run.
"""

from __future__ import annotations

import base64
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from enrollment import scep

__all__ = ["FuzzReport", "Mutator", "Seed", "fuzz_run", "tlv_lengths"]


@dataclass(frozen=True)
class Seed:
    """A valid message and the SCEP path it is sent to."""

    label: str
    der: bytes
    path: str


def tlv_lengths(der: bytes, *, limit: int = 2000) -> list[tuple[int, int]]:
    """Where the length fields of ``der``'s TLVs are: (offset, size in bytes), walking constructed values."""
    found: list[tuple[int, int]] = []

    def walk(start: int, end: int, depth: int) -> None:
        offset = start
        while offset < end and len(found) < limit and depth < 64:
            if offset + 2 > end:
                return
            tag = der[offset]
            length_at = offset + 1
            first = der[length_at]
            if first < 0x80:
                size, length = 1, first
            else:
                count = first & 0x7F
                if count == 0 or count > 4 or length_at + 1 + count > end:
                    return
                size, length = 1 + count, int.from_bytes(der[length_at + 1 : length_at + 1 + count], "big")
            found.append((length_at, size))
            content = length_at + size
            if content + length > end:
                return
            if tag & 0x20:  # constructed
                walk(content, content + length, depth + 1)
            elif tag in (0x04, 0x03) and length > 2:  # an OCTET/BIT STRING often wraps DER (the envelope)
                inner = content + (1 if tag == 0x03 else 0)
                if der[inner] in (0x30, 0x31):
                    walk(inner, content + length, depth + 1)
            offset = content + length

    walk(0, len(der), 0)
    return found


class Mutator:
    """Seeded mutations of valid messages (reproducible: the same seed gives the same messages)."""

    def __init__(self, seeds: Sequence[Seed], seed: int) -> None:
        self.seeds = list(seeds)
        self.rng = random.Random(seed)  # noqa: S311 - reproducible fuzzing, not cryptography
        self.lengths = {item.label: tlv_lengths(item.der) for item in self.seeds}
        self.operations: list[tuple[str, Callable[[Seed, bytearray], bytearray]]] = [
            ("bit-flip", self._flip),
            ("bit-flips", self._flips),
            ("random-byte", self._byte),
            ("truncate", self._truncate),
            ("insert", self._insert),
            ("delete", self._delete),
            ("duplicate", self._duplicate),
            ("splice", self._splice),
            ("length", self._length),
            ("length", self._length),
            ("length", self._length),
        ]

    def mutate(self) -> tuple[str, Seed, bytes]:
        item = self.rng.choice(self.seeds)
        name, operation = self.rng.choice(self.operations)
        data = operation(item, bytearray(item.der))
        if self.rng.random() < 0.2:  # a second mutation on top, now and then
            second_name, second = self.rng.choice(self.operations)
            data = second(item, data)
            name = f"{name}+{second_name}"
        return name, item, bytes(data)

    def _position(self, data: bytearray) -> int:
        return self.rng.randrange(len(data)) if data else 0

    def _flip(self, item: Seed, data: bytearray) -> bytearray:
        if data:
            data[self._position(data)] ^= 1 << self.rng.randrange(8)
        return data

    def _flips(self, item: Seed, data: bytearray) -> bytearray:
        for _ in range(self.rng.randint(2, 16)):
            data = self._flip(item, data)
        return data

    def _byte(self, item: Seed, data: bytearray) -> bytearray:
        if data:
            data[self._position(data)] = self.rng.choice(
                [0x00, 0xFF, 0x80, 0x7F, 0x30, 0x31, 0x04, 0xA0, 0x06]
            )
        return data

    def _truncate(self, item: Seed, data: bytearray) -> bytearray:
        return data[: self._position(data)]

    def _insert(self, item: Seed, data: bytearray) -> bytearray:
        at = self._position(data)
        return data[:at] + bytearray(self.rng.randbytes(self.rng.choice([1, 2, 4, 16, 200]))) + data[at:]

    def _delete(self, item: Seed, data: bytearray) -> bytearray:
        at = self._position(data)
        return data[:at] + data[at + self.rng.choice([1, 2, 4, 16, 200]) :]

    def _duplicate(self, item: Seed, data: bytearray) -> bytearray:
        at = self._position(data)
        size = self.rng.choice([1, 8, 64, 512])
        return data[: at + size] + data[at : at + size] + data[at + size :]

    def _splice(self, item: Seed, data: bytearray) -> bytearray:
        other = self.rng.choice(self.seeds).der
        return data[: self._position(data)] + bytearray(other[self.rng.randrange(len(other)) :])

    def _length(self, item: Seed, data: bytearray) -> bytearray:
        """Corrupt the length of one of the seed's TLVs (the offsets are the seed's, so apply it first)."""
        lengths = self.lengths[item.label]
        if not lengths or len(data) != len(item.der):
            return self._flip(item, data)
        offset, size = self.rng.choice(lengths)
        choice = self.rng.randrange(6)
        if choice == 0:  # zero
            replacement = b"\x00"
        elif choice == 1:  # indefinite
            replacement = b"\x80"
        elif choice == 2:  # 4 GiB
            replacement = b"\x84\xff\xff\xff\xff"
        elif choice == 3:  # a length of length that is not there
            replacement = bytes([0x80 | self.rng.randint(5, 127)])
        else:  # off by a little, same encoding size
            value = int.from_bytes(data[offset + (1 if size > 1 else 0) : offset + size], "big")
            value = max(0, value + self.rng.choice([-2, -1, 1, 2, 128]))
            short = size == 1 and value < 0x80
            replacement = bytes([value]) if short else bytes([0x82]) + min(value, 0xFFFF).to_bytes(2, "big")
        return data[:offset] + bytearray(replacement) + data[offset + size :]


@dataclass
class FuzzReport:
    messages: int = 0
    seconds: float = 0.0
    answers: Counter[str] = field(default_factory=Counter)
    operations: Counter[str] = field(default_factory=Counter)
    http_500: int = 0
    unhandled: int = 0
    unexpected_logged: int = 0
    examples: list[str] = field(default_factory=list)
    stopped_by_time: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
            "stopped_by_time": self.stopped_by_time,
            "seconds": round(self.seconds, 1),
            "per_second": round(self.messages / self.seconds, 1) if self.seconds else None,
            "http_500": self.http_500,
            "unhandled_exceptions": self.unhandled,
            "unexpected_errors_logged": self.unexpected_logged,
            "answers": dict(self.answers.most_common()),
            "operations": dict(self.operations.most_common()),
            "examples": self.examples[:20],
        }


class _UnexpectedErrors(logging.Handler):
    """Counts what the endpoint logs as an unexpected error (its exception handler's last resort)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("unexpected error"):
            self.count += 1


def _answer(response: Any) -> str:
    content_type = response["Content-Type"]
    if response.status_code == 200 and content_type == scep.CONTENT_TYPE_PKI_MESSAGE:
        try:
            message = scep.parse_pki_message(response.content)
        except scep.ScepError:  # pragma: no cover - our own CertRep always parses
            return "200 unparsable CertRep"
        status = message.pki_status.name if message.pki_status else "?"
        fail = f" {message.fail_info.name}" if message.fail_info is not None else ""
        return f"200 {status}{fail}"
    return f"{response.status_code} {content_type.split(';')[0]}"


def fuzz_run(
    *,
    client: Any,
    seeds: Sequence[Seed],
    count: int,
    seed: int,
    every: int = 0,
    on_every: Callable[[FuzzReport], None] | None = None,
    seconds: float | None = None,
) -> FuzzReport:
    """Send ``count`` mutated messages (or fewer, if ``seconds`` run out first) and count the answers.

    ``on_every`` runs every ``every`` messages (to drop the rows the refusals left, and to report progress).
    """
    mutator = Mutator(seeds, seed)
    report = FuzzReport()
    watcher = _UnexpectedErrors()
    logger = logging.getLogger("enrollment.views")
    logger.addHandler(watcher)
    started = time.perf_counter()
    deadline = started + seconds if seconds else None
    try:
        for index in range(count):
            if deadline is not None and time.perf_counter() > deadline:
                report.stopped_by_time = True
                break
            operation, item, data = mutator.mutate()
            report.operations[operation.split("+")[0]] += 1
            try:
                if mutator.rng.random() < 0.1 and len(data) < 60_000:
                    message = base64.b64encode(data).decode("ascii")
                    response = client.get(item.path, {"operation": "PKIOperation", "message": message})
                else:
                    response = client.post(
                        f"{item.path}?operation=PKIOperation",
                        data=data,
                        content_type=scep.CONTENT_TYPE_PKI_MESSAGE,
                    )
            except Exception as exc:  # counting what escapes the view is the point
                report.unhandled += 1
                report.examples.append(f"#{index} {operation} on {item.label}: {type(exc).__name__}: {exc}")
                continue
            answer = _answer(response)
            report.answers[answer] += 1
            if response.status_code == 500:
                report.http_500 += 1
                report.examples.append(f"#{index} {operation} on {item.label}: HTTP 500 {data[:64].hex()}")
            report.messages = index + 1
            if every and on_every is not None and report.messages % every == 0:
                report.seconds = time.perf_counter() - started
                on_every(report)
    finally:
        logger.removeHandler(watcher)
        report.unexpected_logged = watcher.count
        report.seconds = time.perf_counter() - started
    return report
