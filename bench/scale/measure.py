"""The measurements, each through the project's own code: services called as the CA worker calls them, and
HTTP requests through Django's WSGI handler (``django.test.Client``: the URL routing, every middleware, the
views, authentication and rendering; no socket, no gunicorn) in this one process, so one core's worth.

Imported only once Django is set up (``bench.scale.environment``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import hashlib
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from bench.cpu import CpuMonitor
from bench.runtime import log
from bench.scale.generate import CHECKIN_TOKEN, certificates_revoke_all, users_csv
from bench.stats import dist
from ca.models import CertificateAuthority, CertificateTemplate, IssuedCertificate
from ca.services.revocation import crl_generate
from directory.models import Device, ImportJob
from directory.services.import_jobs import import_job_create, import_job_run
from portal import dashboard

__all__ = ["MEASUREMENTS", "Context"]

PLAN_LINES = 40


class Context:
    """What every measurement needs: the options, the issuing CA, a logged-in admin client."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.authority = CertificateAuthority.objects.get(slug="demo-issuing")
        self.template = CertificateTemplate.objects.get(name="CertportalDemo")
        self.admin = get_user_model().objects.get(username="admin")
        self.client = Client()
        self.client.force_login(self.admin)


# --- helpers ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _phase(args: argparse.Namespace, out: dict[str, Any]) -> Iterator[None]:
    """CPU of this process and of the run's PostgreSQL backends vs the rest of the machine, and the load."""
    out["loadavg_before"] = [round(v, 2) for v in os.getloadavg()]
    monitor = CpuMonitor(set(), args.pg_db)
    try:
        yield
    finally:
        cpu = monitor.stop()
        out["cpu"] = {
            key: cpu[key]
            for key in ("machine_busy_cores", "benchmark_cores", "other_processes_cores", "seconds_by_kind")
        }
        out["loadavg_after"] = [round(v, 2) for v in os.getloadavg()]


def _timed(call: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    samples, last = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        last = call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples, last


def _captured(call: Callable[[], Any]) -> list[tuple[str, Any, float]]:
    """The SQL statements ``call`` runs (statement, parameters, ms)."""
    statements: list[tuple[str, Any, float]] = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements.append((sql, params, (time.perf_counter() - started) * 1000))

    with connection.execute_wrapper(wrapper):
        call()
    return statements


def _explain(sql: str, params: Any) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        return [row[0] for row in cursor.fetchall()]


def _plans(call: Callable[[], Any], table: str = "ca_issuedcertificate") -> dict[str, Any]:
    """Every statement of one ``call``, and EXPLAIN ANALYZE of those that read ``table``."""
    statements = _captured(call)
    plans = []
    for sql, params, ms in statements:
        if f'"{table}"' not in sql or not sql.lstrip().upper().startswith("SELECT"):
            continue
        lines = _explain(sql, params)
        plans.append(
            {
                "sql": sql if len(sql) < 1500 else sql[:1500] + " ...",
                "ms_in_request": round(ms, 2),
                "seq_scan": any(f"Seq Scan on {table}" in line for line in lines),
                "plan": lines[:PLAN_LINES],
            }
        )
    return {
        "statements": len(statements),
        "statements_ms": round(sum(ms for _, _, ms in statements), 2),
        "explained": plans,
    }


# --- CRL -------------------------------------------------------------------------------------------------


def _crl_check(ctx: Context, der: bytes, expected: int) -> dict[str, Any]:
    """The CRL read back with ``cryptography`` and ``openssl crl`` (signature checked against the CA)."""
    issuing = ctx.authority
    crl = x509.load_der_x509_crl(der)
    checks: dict[str, Any] = {
        "entries": len(crl),
        "entries_expected": expected,
        "signature_valid": crl.is_signature_valid(issuing.certificate.public_key()),  # type: ignore[arg-type]
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "crl.der"
        path.write_bytes(der)
        chain = Path(tmp) / "chain.pem"
        chain.write_bytes(b"".join(ca.certificate.public_bytes(Encoding.PEM) for ca in issuing.chain()))
        result = subprocess.run(
            ["openssl", "crl", "-inform", "DER", "-in", str(path), "-noout", "-CAfile", str(chain)],
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        checks["openssl"] = (result.stdout + result.stderr).strip()[:200]
        checks["openssl_ok"] = result.returncode == 0 and "verify OK" in result.stdout + result.stderr
    return checks


def _crl_once(ctx: Context) -> dict[str, Any]:
    expected = IssuedCertificate.objects.for_crl(authority_id=ctx.authority.pk).count()
    started = time.perf_counter()
    record = crl_generate(authority=ctx.authority)
    seconds = time.perf_counter() - started
    der = bytes(record.der)
    out: dict[str, Any] = {
        "revoked": expected,
        "seconds": round(seconds, 3),
        "der_bytes": len(der),
        "der_mib": round(len(der) / 2**20, 2),
        "crl_number": record.number,
    }
    out.update(_crl_check(ctx, der, expected))
    return out


def measure_crl(ctx: Context) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with _phase(ctx.args, out):
        out["runs"] = [_crl_once(ctx) for _ in range(ctx.args.crl_repeat)]
    out["seconds"] = dist([run["seconds"] for run in out["runs"]])
    return out


def measure_crl_large(ctx: Context) -> dict[str, Any]:
    """Every certificate of the CA revoked, then one CRL: the 1,000,000-entry case (changes the data set:
    run last).
    """
    out: dict[str, Any] = {}
    changed, seconds = certificates_revoke_all(authority_id=ctx.authority.pk)
    out["revoked_now"], out["revoke_update_s"] = changed, round(seconds, 1)
    with _phase(ctx.args, out):
        out["runs"] = [_crl_once(ctx)]
    return out


# --- OCSP ------------------------------------------------------------------------------------------------


def _ocsp_requests(ctx: Context, count: int) -> list[tuple[bytes, str]]:
    """Real OCSP requests (SHA-1 CertID, as clients send them) for good and revoked serials, alternately."""
    issuer = ctx.authority.certificate
    name_hash = hashlib.sha1(issuer.subject.public_bytes()).digest()  # noqa: S324 - RFC 6960 CertID
    key_hash = x509.SubjectKeyIdentifier.from_public_key(issuer.public_key()).digest
    rows = IssuedCertificate.objects.filter(authority=ctx.authority)
    now = dt.datetime.now(dt.UTC)
    good = list(rows.valid(now).order_by("?").values_list("serial", flat=True)[: count // 2 + 1])
    revoked = list(rows.revoked().order_by("?").values_list("serial", flat=True)[: count // 2 + 1])
    pairs = [(s, "good") for s in good]
    if revoked:
        pairs = [p for pair in zip(pairs, [(s, "revoked") for s in revoked], strict=False) for p in pair]
    requests = []
    for index in range(count):
        serial, expect = pairs[index % len(pairs)]
        request = (
            ocsp.OCSPRequestBuilder()
            .add_certificate_by_hash(name_hash, key_hash, int(serial, 16), hashes.SHA1())  # noqa: S303
            .build()
        )
        requests.append((request.public_bytes(Encoding.DER), expect))
    return requests


def measure_ocsp(ctx: Context) -> dict[str, Any]:
    count = ctx.args.ocsp_requests
    requests = _ocsp_requests(ctx, count)
    url = f"/ocsp/{ctx.authority.slug}"
    client = ctx.client
    for der, _ in requests[:20]:  # warm-up: the responder key is decrypted once per process
        client.post(url, der, content_type="application/ocsp-request")
    answers, samples = [], []
    out: dict[str, Any] = {"requests": count}
    with _phase(ctx.args, out):
        started = time.perf_counter()
        for der, _ in requests:
            t0 = time.perf_counter()
            response = client.post(url, der, content_type="application/ocsp-request")
            samples.append((time.perf_counter() - t0) * 1000)
            answers.append((response.status_code, response.content))
        wall = time.perf_counter() - started
    out["responses_per_s"] = round(count / wall, 1)
    out["latency_ms"] = dist(samples)
    statuses: dict[str, int] = {}
    wrong = 0
    for (status, body), (_, expect) in zip(answers, requests, strict=True):
        parsed = ocsp.load_der_ocsp_response(body)
        if status != 200 or parsed.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
            key = f"{status} {parsed.response_status.name}"
        else:
            key = parsed.certificate_status.name.lower()
            wrong += key != expect
        statuses[key] = statuses.get(key, 0) + 1
    out["answers"] = statuses
    out["answers_not_as_expected"] = wrong
    out["plans"] = _plans(lambda: client.post(url, requests[1][0], content_type="application/ocsp-request"))
    return out


# --- the certificate list: API and admin -----------------------------------------------------------------


def _list_scenarios(ctx: Context) -> dict[str, list[tuple[str, str]]]:
    authority = ctx.authority
    return {
        "api": [
            ("status=issued, page 1", "/api/v1/certificates/?status=issued&limit=50"),
            ("status=revoked, page 20", "/api/v1/certificates/?status=revoked&limit=50&offset=950"),
            ("expiring within 30 days, page 1", "/api/v1/certificates/?expiring_within_days=30&limit=50"),
            (
                "authority + status=issued, ordered by notAfter, page 5",
                f"/api/v1/certificates/?authority={authority.slug}&status=issued&ordering=not_after"
                "&limit=50&offset=200",
            ),
            ("serial (exact), one row", "/api/v1/certificates/?serial={serial}"),
        ],
        "admin": [
            ("no filter, page 1", "/admin/ca/issuedcertificate/"),
            ("status=issued, page 3", "/admin/ca/issuedcertificate/?status=issued&p=3"),
            (
                "status=revoked + authority, page 2",
                f"/admin/ca/issuedcertificate/?status=revoked&authority__id__exact={authority.pk}&p=2",
            ),
            ("expiring in 30 days, page 1", "/admin/ca/issuedcertificate/?expires_before=30d"),
            ("search by serial, page 1", "/admin/ca/issuedcertificate/?q={serial}"),
        ],
    }


def _some_serial(ctx: Context) -> str:
    middle = IssuedCertificate.objects.filter(authority=ctx.authority).count() // 2
    row = IssuedCertificate.objects.filter(authority=ctx.authority).order_by("pk")[middle : middle + 1]
    return row[0].serial if row else "00"


def _measure_list(ctx: Context, kind: str) -> dict[str, Any]:
    client = ctx.client
    serial = _some_serial(ctx)
    out: dict[str, Any] = {"scenarios": {}}
    with _phase(ctx.args, out):
        for label, template in _list_scenarios(ctx)[kind]:
            url = template.format(serial=serial)
            first = client.get(url)
            scenario: dict[str, Any] = {"url": url, "status": first.status_code, "bytes": len(first.content)}
            if kind == "api" and first.status_code == 200:
                body = first.json()
                scenario["count"], scenario["results"] = body.get("count"), len(body.get("results", []))
            samples, _ = _timed(functools.partial(client.get, url), ctx.args.list_repeat)
            scenario["ms"] = dist(samples)
            scenario["plans"] = _plans(functools.partial(client.get, url))
            out["scenarios"][label] = scenario
            log(f"  {kind}: {label}: p50 {scenario['ms']['p50']} ms, p95 {scenario['ms']['p95']} ms")
    every = [s["ms"]["p95"] for s in out["scenarios"].values()]
    out["worst_p95_ms"] = max(every) if every else None
    return out


def measure_api(ctx: Context) -> dict[str, Any]:
    return _measure_list(ctx, "api")


def measure_admin(ctx: Context) -> dict[str, Any]:
    return _measure_list(ctx, "admin")


# --- device check-in -------------------------------------------------------------------------------------


def measure_checkin(ctx: Context) -> dict[str, Any]:
    numbers = list(range(Device.objects.filter(external_id__startswith="scale-device-").count()))
    if ctx.args.checkins:
        numbers = numbers[: ctx.args.checkins]
    client = ctx.client
    url = "/api/v1/checkin/"
    samples, failures, challenges = [], 0, 0
    out: dict[str, Any] = {"devices": len(numbers)}
    with _phase(ctx.args, out):
        started = time.perf_counter()
        for n in numbers:
            header = f"Device scale-device-{n:07d}:{CHECKIN_TOKEN}{n}"
            t0 = time.perf_counter()
            response = client.get(url, HTTP_AUTHORIZATION=header)
            samples.append((time.perf_counter() - t0) * 1000)
            if response.status_code != 200:
                failures += 1
                continue
            challenges += sum(1 for item in response.json().get("scep", []) if item.get("challenge"))
        wall = time.perf_counter() - started
    out["devices_per_s"] = round(len(numbers) / wall, 1) if wall else None
    out["seconds"] = round(wall, 1)
    out["latency_ms"] = dist(samples)
    out["failed"] = failures
    out["challenges_handed_out"] = challenges
    if numbers:
        again = numbers[0]
        header = f"Device scale-device-{again:07d}:{CHECKIN_TOKEN}{again}"
        out["plans"] = _plans(lambda: client.get(url, HTTP_AUTHORIZATION=header), table="directory_device")
    return out


# --- directory import ------------------------------------------------------------------------------------


def measure_import(ctx: Context) -> dict[str, Any]:
    content = users_csv(ctx.args.users)
    out: dict[str, Any] = {"rows": ctx.args.users, "file_bytes": len(content)}
    progress: list[tuple[float, int, int]] = []
    done = threading.Event()

    def poll(job_id: int, started: float) -> None:
        try:
            while not done.wait(0.5):
                row = ImportJob.objects.filter(pk=job_id).values_list("rows_done", "rows_total").first()
                if row:
                    progress.append((round(time.perf_counter() - started, 2), row[0], row[1]))
        finally:
            connection.close()

    with _phase(ctx.args, out):
        started = time.perf_counter()
        job = import_job_create(
            content=content, requested_by="cli:bench.scale", file_name="users.csv", dispatch=False
        )
        created = time.perf_counter()
        poller = threading.Thread(target=poll, args=(job.pk, started), daemon=True)
        poller.start()
        job = import_job_run(job_id=job.pk)
        finished = time.perf_counter()
        done.set()
        poller.join()
    out["create_s"] = round(created - started, 2)
    out["run_s"] = round(finished - created, 2)
    out["rows_per_s"] = round(ctx.args.users / (finished - started), 1)
    out["job"] = {
        "status": job.status,
        "created": job.created,
        "updated": job.updated,
        "failed": job.failed,
        "rows_done": job.rows_done,
        "rows_total": job.rows_total,
        "chunks": job.chunks_done,
    }
    out["progress_samples"] = len(progress)
    out["progress"] = progress[:: max(len(progress) // 20, 1)]
    fragment = ctx.client.get(f"/admin/directory/importjob/{job.pk}/status/")
    text = fragment.content.decode(errors="replace")
    out["admin_status_fragment"] = {"status": fragment.status_code, "shows_100_percent": "100" in text}
    return out


# --- dashboard -------------------------------------------------------------------------------------------


def measure_dashboard(ctx: Context) -> dict[str, Any]:
    out: dict[str, Any] = {}
    client = ctx.client
    with _phase(ctx.args, out):
        context_ms, context = _timed(lambda: dashboard.dashboard_context(ctx.admin), ctx.args.list_repeat)
        page_ms, page = _timed(lambda: client.get("/admin/"), ctx.args.list_repeat)
    out["context_ms"] = dist(context_ms)
    out["page_ms"] = dist(page_ms)
    out["page_status"] = page.status_code
    out["counts"] = {count.key: count.value for count in context["counts"]}
    parts: dict[str, list[float]] = {}
    now = dt.datetime.now(dt.UTC)
    for name in ("_counts", "_charts"):
        function = getattr(dashboard, name)
        parts[name], _ = _timed(functools.partial(function, now), 5)
    out["parts_ms"] = {name: dist(samples) for name, samples in parts.items()}
    out["plans"] = _plans(lambda: dashboard.dashboard_context(ctx.admin))
    return out


MEASUREMENTS: dict[str, Callable[[Context], dict[str, Any]]] = {
    "crl": measure_crl,
    "ocsp": measure_ocsp,
    "api": measure_api,
    "admin": measure_admin,
    "dashboard": measure_dashboard,
    "checkin": measure_checkin,
    "import": measure_import,
}
