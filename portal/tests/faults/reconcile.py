"""Reconciliation of a load with the private database, after a fault.

requests sent = transactions recorded = answers received (each device ended with SUCCESS, or FAILURE;
PENDING polled to one of them; 503s and lost connections answered by retransmissions), certificates issued
= distinct accepted requests (each with the serial the device received), no serial twice in the database,
no HTTP 500 to the devices nor in gunicorn's access log.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from portal.tests.faults.load import Answer, Enrollment, Load
from portal.tests.faults.topology import PrivatePostgres

__all__ = ["LogMark", "Reconciliation", "reconcile"]

#: gunicorn's access log line (the default format): ... "METHOD /path HTTP/1.1" STATUS SIZE ...
_ACCESS_STATUS = re.compile(rb'" (\d{3}) ')


@dataclass
class LogMark:
    """Where gunicorn's logs stood when a test began: what came after is the test's."""

    offsets: dict[Path, int]

    @classmethod
    def now(cls, directory: Path) -> LogMark:
        return cls({path: path.stat().st_size for path in directory.glob("web-*.log")})

    def statuses(self, directory: Path) -> Counter[int]:
        counts: Counter[int] = Counter()
        for path in sorted(directory.glob("web-*.log")):
            with path.open("rb") as handle:
                handle.seek(self.offsets.get(path, 0))
                for line in handle:
                    if (found := _ACCESS_STATUS.search(line)) is not None:
                        counts[int(found.group(1))] += 1
        return counts


@dataclass
class Reconciliation:
    fault: str
    requests_sent: int
    transactions_recorded: int
    answered: int
    success: int
    failure: int
    unanswered: int
    certificate_requests: int
    certificates_issued: int
    distinct_accepted: int
    serials_matching_devices: int
    duplicate_serials: int
    http_500: int
    http_500_in_access_log: int
    exchanges: dict[str, int]
    seconds: float
    notes: str = ""

    def as_json(self) -> dict[str, object]:
        return dataclasses.asdict(self)

    def assert_clean(self, *, expect_transactions: int | None = None) -> None:
        """Every number agrees; ``expect_transactions`` when devices share a request (identical PKCSReqs)."""
        transactions = self.requests_sent if expect_transactions is None else expect_transactions
        assert self.http_500 == 0, self
        assert self.http_500_in_access_log == 0, self
        assert self.unanswered == 0, self
        assert self.answered == self.requests_sent, self
        assert self.transactions_recorded == transactions, self
        assert self.duplicate_serials == 0, self
        assert self.certificates_issued == self.distinct_accepted, self
        assert self.serials_matching_devices == self.success, self


def reconcile(
    fault: str,
    *,
    prefix: str,
    load: Load,
    postgres: PrivatePostgres,
    log_directory: Path,
    mark: LogMark,
    enrollments: Sequence[Enrollment] | None = None,
    notes: str = "",
) -> Reconciliation:
    enrollments = load.enrollments if enrollments is None else enrollments
    like = f"CN={prefix}-%"
    with postgres.connect() as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT t.transaction_id, t.status, t.certificate_request_id, r.status"
            " FROM enrollment_sceptransaction t"
            " LEFT JOIN ca_certificaterequest r ON r.id = t.certificate_request_id"
            " WHERE t.subject LIKE %s",
            [like],
        )
        transactions = cursor.fetchall()
        cursor.execute("SELECT count(*) FROM ca_certificaterequest WHERE subject LIKE %s", [like])
        (certificate_requests,) = cursor.fetchone()
        cursor.execute(
            "SELECT c.serial, c.request_id, t.transaction_id FROM ca_issuedcertificate c"
            " JOIN enrollment_sceptransaction t ON t.certificate_request_id = c.request_id"
            " WHERE c.subject LIKE %s",
            [like],
        )
        issued = cursor.fetchall()
        cursor.execute(
            "SELECT count(*) FROM (SELECT authority_id, serial FROM ca_issuedcertificate"
            " GROUP BY authority_id, serial HAVING count(*) > 1) AS twice"
        )
        (duplicates,) = cursor.fetchone()
    conn.close()
    accepted = {request_id for _, _, request_id, _ in transactions if request_id is not None}
    serial_by_transaction = {transaction_id: int(serial, 16) for serial, _, transaction_id in issued}
    matching = sum(
        1
        for enrollment in enrollments
        if enrollment.result == Answer.SUCCESS
        and serial_by_transaction.get(enrollment.device.transaction_id) == enrollment.serial
    )
    success = sum(1 for enrollment in enrollments if enrollment.result == Answer.SUCCESS)
    failure = sum(1 for enrollment in enrollments if enrollment.result == Answer.FAILURE)
    statuses = mark.statuses(log_directory)
    return Reconciliation(
        fault=fault,
        requests_sent=len(enrollments),
        transactions_recorded=len({transaction_id for transaction_id, *_ in transactions}),
        answered=success + failure,
        success=success,
        failure=failure,
        unanswered=len(enrollments) - success - failure,
        certificate_requests=int(certificate_requests),
        certificates_issued=len(issued),
        distinct_accepted=len(accepted),
        serials_matching_devices=matching,
        duplicate_serials=int(duplicates),
        http_500=load.answered(Answer.SERVER_ERROR),
        http_500_in_access_log=statuses[500],
        exchanges=load.answer_counts(),
        seconds=round(load.seconds, 1),
        notes=notes,
    )
