"""The load client: RSA keys generated before timing, the requests of one run, one SCEP enrollment per
device, GetCACaps and GetCACert requests, and the threads that run them.
"""

from __future__ import annotations

import http.client
import os
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from bench.runtime import STOP, BenchError
from enrollment import scep


def _generate_key_der(_: int) -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def generate_keys(count: int) -> list[bytes]:
    workers = max(1, os.cpu_count() or 1)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_generate_key_der, range(count), chunksize=8))


def load_key(der: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_der_private_key(der, password=None, unsafe_skip_rsa_key_validation=True)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise BenchError("expected an RSA key")
    return key


@dataclass
class Item:
    cn: str
    key: rsa.RSAPrivateKey
    csr: x509.CertificateSigningRequest
    csr_der: bytes
    signer: x509.Certificate


def prepare_items(keys: Sequence[bytes], prefix: str, challenge: str) -> list[Item]:
    items = []
    for index, der in enumerate(keys):
        key = load_key(der)
        cn = f"{prefix}{index:05d}"
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        csr = scep.build_csr(key, subject, challenge_password=challenge)
        items.append(
            Item(
                cn,
                key,
                csr,
                csr.public_bytes(serialization.Encoding.DER),
                scep.self_signed_signer(key, subject),
            )
        )
    return items


@dataclass
class Algorithms:
    cipher: scep.ContentCipher
    digest: scep.DigestAlgorithm
    allow_legacy_replies: bool

    @property
    def policy(self) -> scep.AlgorithmPolicy:
        return scep.AlgorithmPolicy(allow_legacy=self.allow_legacy_replies)


def enroll_one(url: str, item: Item, algorithms: Algorithms, timeout: float) -> dict[str, Any]:
    """One device: GetCACaps, GetCACert, PKIOperation (PKCSReq). Timings in ms, wall clock in epoch s."""
    record: dict[str, Any] = {"cn": item.cn, "outcome": "exception"}
    t0 = time.perf_counter()
    try:
        client = scep.ScepClient(url, timeout=timeout, policy=algorithms.policy)
        caps = client.get_ca_caps()
        t1 = time.perf_counter()
        if not caps:
            raise scep.ScepClientError("GetCACaps failed or returned nothing")
        certificates = client.get_ca_cert()
        t2 = time.perf_counter()
        upper = {keyword.upper() for keyword in caps}
        nonce = os.urandom(16)
        transaction_id = scep.transaction_id_for(item.key.public_key())
        request = scep.build_pki_message(
            message_type=scep.MessageType.PKCS_REQ,
            transaction_id=transaction_id,
            sender_nonce=nonce,
            message_data=item.csr_der,
            recipient_certificate=scep.select_recipient(certificates),
            signer_certificate=item.signer,
            signer_key=item.key,
            cipher=algorithms.cipher,
            digest=algorithms.digest,
        )
        t3 = time.perf_counter()
        record["wall_send"] = time.time()
        method = "POST" if upper & {"POSTPKIOPERATION", "SCEPSTANDARD"} else "GET"
        reply = client.pki_operation(request, method=method)
        t4 = time.perf_counter()
        record["wall_recv"] = time.time()
        result = scep.parse_cert_rep(
            reply,
            signer_key=item.key,
            signer_certificate=item.signer,
            expected_recipient_nonce=nonce,
            ra_certificate=certificates,
            expected_transaction_id=transaction_id,
            policy=algorithms.policy,
        )
        t5 = time.perf_counter()
        record.update(
            caps_ms=(t1 - t0) * 1000,
            cacert_ms=(t2 - t1) * 1000,
            build_ms=(t3 - t2) * 1000,
            pkiop_ms=(t4 - t3) * 1000,
            parse_ms=(t5 - t4) * 1000,
            total_ms=(t5 - t0) * 1000,
            method=method,
        )
        if result.status is scep.PkiStatus.SUCCESS and result.certificate is not None:
            cn = result.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
            if not cn or cn[0].value != item.cn:
                record["outcome"] = "wrong_certificate"
                record["error"] = f"issued subject {result.certificate.subject.rfc4514_string()}"
            else:
                record["outcome"] = "success"
                record["serial"] = format(result.certificate.serial_number, "X")
                record["reply_cipher"] = result.cipher.display_name if result.cipher else None
                digest = result.message.digest_algorithm
                record["reply_digest"] = getattr(digest, "display_name", str(digest))
        elif result.status is scep.PkiStatus.PENDING:
            record["outcome"] = "pending"
        else:
            record["outcome"] = "failure"
            record["error"] = (
                f"failInfo {result.fail_info.name if result.fail_info else None}: {result.fail_info_text}"
            )
    except scep.ScepClientError as exc:
        record["outcome"] = "http_error"
        record["error"] = str(exc)[:300]
        match = re.search(r"HTTP (\d{3})", str(exc))
        record["http_status"] = int(match.group(1)) if match else None
    except Exception as exc:
        record["outcome"] = "exception"
        record["error"] = f"{type(exc).__name__}: {exc}"[:300]
    record.setdefault("total_ms", (time.perf_counter() - t0) * 1000)
    return record


def run_parallel(
    items: Sequence[Any], concurrency: int, fn: Callable[[Any], dict[str, Any]]
) -> tuple[list[dict[str, Any]], float]:
    """Run ``fn`` over ``items`` with ``concurrency`` threads; returns the records and the wall time in s."""
    results: list[dict[str, Any] | None] = [None] * len(items)
    lock = threading.Lock()
    next_index = [0]

    def worker() -> None:
        while not STOP.is_set():
            with lock:
                index = next_index[0]
                next_index[0] += 1
            if index >= len(items):
                return
            results[index] = fn(items[index])

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(0.2)
    wall = time.perf_counter() - start
    if STOP.is_set():
        raise KeyboardInterrupt
    return [r for r in results if r is not None], wall


def get_one(url: str, operation: str, timeout: float) -> dict[str, Any]:
    """One ``GET ?operation=...`` (GetCACaps, GetCACert) on a new connection; a success is HTTP 200 with a
    non-empty body.
    """
    parts = urllib.parse.urlsplit(url)
    path = f"{parts.path}?operation={operation}"
    t0 = time.perf_counter()
    try:
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            status = response.status
        finally:
            conn.close()
        ok = status == 200 and bool(body.strip())
        return {"ok": ok, "status": status, "ms": (time.perf_counter() - t0) * 1000}
    except Exception as exc:
        return {
            "ok": False,
            "status": None,
            "error": f"{type(exc).__name__}: {exc}"[:200],
            "ms": (time.perf_counter() - t0) * 1000,
        }
