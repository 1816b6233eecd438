"""Statistics: percentiles, distributions, and the summaries of a run's enrollment and GetCACaps/GetCACert
records.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        return None
    position = (len(sorted_values) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def dist(values: Sequence[float]) -> dict[str, Any]:
    values = sorted(v for v in values if v is not None)
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "mean": round(sum(values) / len(values), 3),
        "min": round(values[0], 3),
        "p50": round(percentile(values, 50), 3),  # type: ignore[arg-type]
        "p95": round(percentile(values, 95), 3),  # type: ignore[arg-type]
        "p99": round(percentile(values, 99), 3),  # type: ignore[arg-type]
        "max": round(values[-1], 3),
    }


def summarize_enrollments(records: list[dict[str, Any]], wall: float, concurrency: int) -> dict[str, Any]:
    ok = [r for r in records if r["outcome"] == "success"]
    outcomes = Counter(r["outcome"] for r in records)
    error_samples: dict[str, list[str]] = {}
    for record in records:
        if record["outcome"] != "success":
            samples = error_samples.setdefault(record["outcome"], [])
            text = record.get("error", "")
            if text not in samples and len(samples) < 5:
                samples.append(text)
    http_statuses = Counter(str(r.get("http_status")) for r in records if r["outcome"] == "http_error")
    algorithms = Counter(f"{r.get('reply_cipher')}/{r.get('reply_digest')}" for r in ok)
    serials = Counter(r["serial"] for r in ok)
    return {
        "concurrency": concurrency,
        "requested": len(records),
        "succeeded": len(ok),
        "errors": len(records) - len(ok),
        "outcomes": dict(outcomes),
        "http_statuses": dict(http_statuses),
        "error_samples": error_samples,
        "wall_s": round(wall, 3),
        "enrollments_per_s": round(len(ok) / wall, 2) if wall > 0 else None,
        "reply_algorithms": dict(algorithms),
        # Certificates whose serial number another certificate of this run also has (RFC 5280 4.1.2.2).
        "duplicate_serials": sum(count for count in serials.values() if count > 1),
        "serials": sorted(r["serial"] for r in ok),
        "latency_ms": {
            "pkioperation": dist([r["pkiop_ms"] for r in ok]),
            "enroll": dist([r["total_ms"] for r in ok]),
            "getcacaps": dist([r["caps_ms"] for r in ok]),
            "getcacert": dist([r["cacert_ms"] for r in ok]),
            "client_build": dist([r["build_ms"] for r in ok]),
            "client_parse": dist([r["parse_ms"] for r in ok]),
        },
        "raw_ms": {
            key: [round(r[key], 2) for r in ok]
            for key in ("pkiop_ms", "total_ms", "caps_ms", "cacert_ms", "build_ms", "parse_ms")
        },
    }


def summarize_gets(records: list[dict[str, Any]], wall: float, concurrency: int) -> dict[str, Any]:
    ok = [r for r in records if r["ok"]]
    return {
        "requests": len(records),
        "concurrency": concurrency,
        "succeeded": len(ok),
        "errors": len(records) - len(ok),
        "statuses": dict(Counter(str(r["status"]) for r in records)),
        "error_samples": sorted({r.get("error", "") for r in records if not r["ok"]})[:5],
        "wall_s": round(wall, 3),
        "requests_per_s": round(len(ok) / wall, 1) if wall > 0 else None,
        "latency_ms": dist([r["ms"] for r in ok]),
    }
