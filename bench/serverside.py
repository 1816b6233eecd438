"""What the servers say about a run: gunicorn's access log, problem lines in any log, the issue task's and
scepserver's log fields, and where a PKIOperation's time goes from certportal's database rows.
"""

from __future__ import annotations

import datetime as dt
import re
import urllib.parse
from collections import Counter
from collections.abc import Sequence
from typing import Any

from bench.stats import dist

ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(D)s'
ACCESS_RE = re.compile(
    r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[^"]*" (?P<status>\d{3}) \S+ "[^"]*" "[^"]*" (?P<us>\d+)\s*$'
)
CELERY_DONE_RE = re.compile(r"Task ca\.tasks\.certificate_issue_task\[[^\]]+\] succeeded in ([0-9.eE+-]+)s")
SCEPSERVER_TOOK_RE = re.compile(
    r"endpoint\.go.*op=(?P<op>\w+).*took=(?P<took>[0-9.]+)(?P<unit>ns|µs|us|ms|s)\b"
)
PROBLEM_RE = re.compile(
    r"Traceback|\bERROR\b|CRITICAL|database is locked|deadlock detected|WORKER TIMEOUT|OperationalError"
    r"|IntegrityError|Worker exited|Internal Server Error|level=error|err=\""
)


def parse_access_log(text: str) -> dict[str, Any]:
    durations: dict[str, list[float]] = {}
    statuses: dict[str, Counter[str]] = {}
    for line in text.splitlines():
        match = ACCESS_RE.search(line)
        if not match:
            continue
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(match["path"]).query)
        operation = (query.get("operation") or [match["path"].split("?")[0]])[0]
        durations.setdefault(operation, []).append(int(match["us"]) / 1000)
        statuses.setdefault(operation, Counter())[match["status"]] += 1
    return {
        op: {"statuses": dict(statuses[op]), "server_ms": dist(values)} for op, values in durations.items()
    }


def problem_lines(text: str, limit: int = 8) -> dict[str, Any]:
    lines = [line.strip() for line in text.splitlines() if PROBLEM_RE.search(line)]
    unique: list[str] = []
    for line in lines:
        short = re.sub(r"^\S+ \S+ ", "", line)[:400]
        if short not in unique:
            unique.append(short)
    return {"count": len(lines), "samples": unique[:limit]}


def _epoch(value: Any) -> float:
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).timestamp()
    text = str(value).replace("T", " ")
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


BREAKDOWN_SQL = """
SELECT t.subject, t.status, t.created_at, t.updated_at, r.created_at, r.updated_at, i.created_at
FROM enrollment_sceptransaction t
LEFT JOIN ca_certificaterequest r ON r.id = t.certificate_request_id
LEFT JOIN ca_issuedcertificate i ON i.request_id = r.id
WHERE t.subject LIKE {placeholder}
"""


def breakdown(rows: Sequence[Sequence[Any]], records: list[dict[str, Any]]) -> dict[str, Any]:
    """Where one PKIOperation's time goes, from the client's wall clock and the rows' timestamps."""
    by_cn = {r["cn"]: r for r in records if r["outcome"] == "success" and "wall_send" in r}
    phases: dict[str, list[float]] = {
        k: [] for k in ("ra_verify_decrypt", "ra_submit", "ca_queue_and_sign", "ca_to_ra", "ra_reply")
    }
    for subject, _status, t_created, t_updated, r_created, _r_updated, i_created in rows:
        cn = str(subject).removeprefix("CN=")
        record = by_cn.get(cn)
        if record is None or None in (t_created, t_updated, r_created, i_created):
            continue
        tc, tu, rc, ic = (_epoch(v) for v in (t_created, t_updated, r_created, i_created))
        phases["ra_verify_decrypt"].append((tc - record["wall_send"]) * 1000)
        phases["ra_submit"].append((rc - tc) * 1000)
        phases["ca_queue_and_sign"].append((ic - rc) * 1000)
        phases["ca_to_ra"].append((tu - ic) * 1000)
        phases["ra_reply"].append((record["wall_recv"] - tu) * 1000)
    return {"matched": len(phases["ra_submit"]), **{k: dist(v) for k, v in phases.items()}}
