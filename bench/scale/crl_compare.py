"""The CRL entries built as before commit eb2654b (one ``add_revoked_certificate`` per entry, each through a
chain of ``RevokedCertificateBuilder`` setters) and as now (``ca.crypto.crl.revoked_certificates``); no
database, no signing:

    .venv/bin/python -m bench.scale.crl_compare 20000 50000 100000
"""

from __future__ import annotations

import datetime as dt
import sys
import time

from cryptography import x509

from ca.crypto.crl import RevokedEntry, revoked_certificates


def _before(entries: list[RevokedEntry]) -> x509.CertificateRevocationListBuilder:
    builder = x509.CertificateRevocationListBuilder()
    for entry in entries:
        revoked = x509.RevokedCertificateBuilder().serial_number(entry.serial)
        revoked = revoked.revocation_date(entry.revoked_at)
        revoked = revoked.add_extension(x509.CRLReason(entry.reason), critical=False)
        builder = builder.add_revoked_certificate(revoked.build())
    return builder


def main(sizes: list[int]) -> None:
    now = dt.datetime.now(dt.UTC)
    for size in sizes:
        entries = [
            RevokedEntry(serial=(n << 64) | 12345, revoked_at=now, reason=x509.ReasonFlags.superseded)
            for n in range(1, size + 1)
        ]
        started = time.perf_counter()
        _before(entries)
        before = time.perf_counter() - started
        started = time.perf_counter()
        revoked_certificates(entries)
        now_s = time.perf_counter() - started
        print(f"{size:,} entries: before {before:.2f} s, now {now_s:.2f} s")


if __name__ == "__main__":
    main([int(argument) for argument in sys.argv[1:]] or [20_000, 50_000, 100_000])
