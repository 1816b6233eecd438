"""SCEP enrollment benchmark: certportal (embedded default, production topology) vs micromdm scepserver.

Targets (each on 127.0.0.1 only, started and stopped by the benchmark):

* ``embedded``   gunicorn -c portal/gunicorn.conf.py, SQLite in a temporary CERTPORTAL_DATA_DIR, Celery tasks
                 in process (the embedded default).
* ``production`` the same gunicorn (the RA, no CA key passphrase) + ``celery -A portal worker -Q <ca queue>``
                 (the only process with the CA key passphrase) on PostgreSQL + Redis: every certificate goes
                 through the ``ca`` queue and back.
* ``scepserver`` Debian's micromdm ``scepserver`` (a single Go process, file depot) in a private network
                 namespace (``unshare -n``); the client runs inside the same namespace.

Every enrollment is a fresh device: GetCACaps, GetCACert, then PKIOperation (PKCSReq, POST) with a CSR
for an RSA-2048 key generated before timing starts, signed by a self-signed certificate (RFC 8894 §2.3),
with a static challenge. Requests use AES-256-CBC and SHA-256 against every target; certportal answers
with the same, scepserver answers with single DES and SHA-1 (the client accepts legacy algorithms for
that target only).

Reported per target and concurrency: enrollments/s, p50/p95/p99 latency of the PKIOperation round trip
and of the whole enrollment, error counts by kind; GetCACaps and GetCACert requests/s; each of these as a
ratio to scepserver's in the same run, and issue 13's targets met or missed; for certportal a server-side
breakdown of where the time goes (from gunicorn's access log, the Celery log and the database rows).
Results: Markdown tables on stdout, raw JSON in bench/results/<timestamp>.json.

Run ``./dev bench [options]`` (it sets up the virtualenv and the scep package first), or with the project's
virtualenv (both entry points re-execute themselves with .venv/bin/python if needed) the script
``bench/scep_bench.py`` or, from the repository root, ``python -m bench``:

    .venv/bin/python bench/scep_bench.py                   # N=200, concurrency 1, 4 and 16, all targets
    .venv/bin/python bench/scep_bench.py -n 50 -c 1 4 8 --targets embedded scepserver
    .venv/bin/python -m bench --help
"""
