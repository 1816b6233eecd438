"""The admin side at scale (issue 13, item 3): a generated data set in a PostgreSQL database of its own, and
the admin's heavy paths measured through the project's own code.

    .venv/bin/python -m bench.scale                       # small defaults (minutes)
    .venv/bin/python -m bench.scale --certificates 1000000 --revoked 100000 --devices 100000 \\
        --groups 1000 --users 100000 --crl-large
    .venv/bin/python -m bench.scale --only crl,ocsp --certificates 200000

What is measured, each through the real code path (see bench/README.md, "bench/scale"):

* ``crl``        ``ca.services.revocation.crl_generate`` for the revoked certificates (seconds, DER size),
                 the CRL checked with ``cryptography`` and ``openssl crl``; with ``--crl-large`` also after
                 every certificate is revoked (1,000,000 entries at full size);
* ``ocsp``       POST ``/ocsp/<slug>`` through Django's WSGI handler: real OCSP requests for good and
                 revoked serials, responses/s;
* ``api``        ``GET /api/v1/certificates/`` with a filter and a page, p50/p95, EXPLAIN ANALYZE of its SQL;
* ``admin``      the certificates' admin changelist with a filter and a page, the same;
* ``checkin``    ``GET /api/v1/checkin/`` of devices in groups that a trusted-root and a SCEP profile are
                 assigned to, devices/s;
* ``import``     an import job of users from a CSV (``directory.services.import_jobs``), rows/s, with its
                 progress sampled while it runs and the admin's status fragment read;
* ``dashboard``  ``portal.dashboard.dashboard_context`` and the dashboard page, ms per render.
"""
