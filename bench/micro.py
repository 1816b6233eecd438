"""Micro-benchmarks of the cryptographic steps one enrollment needs (no server, no Django)."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from bench.load import load_key
from ca.crypto.builders import EndEntitySpec, KeyUsageSpec, build_end_entity_certificate
from enrollment import scep


def micro_benchmarks(keys: Sequence[bytes], iterations: int = 100) -> dict[str, float]:
    """Per-operation cost (ms, one core) of the cryptographic steps one enrollment needs."""
    device_key, ra_key, ca_key = (load_key(k) for k in keys[:3])
    now = dt.datetime.now(dt.UTC)

    def self_signed(key: rsa.RSAPrivateKey, cn: str, ca: bool) -> x509.Certificate:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        return (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )

    ca_cert, ra_cert = self_signed(ca_key, "micro CA", True), self_signed(ra_key, "micro RA", False)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "micro device")])
    csr = scep.build_csr(device_key, subject, challenge_password=secrets.token_urlsafe(8))
    signer = scep.self_signed_signer(device_key, subject)
    policy = scep.AlgorithmPolicy()
    nonce = os.urandom(16)

    def build_request() -> bytes:
        return scep.build_pki_message(
            message_type=scep.MessageType.PKCS_REQ,
            transaction_id="t",
            sender_nonce=nonce,
            message_data=csr.public_bytes(serialization.Encoding.DER),
            recipient_certificate=ra_cert,
            signer_certificate=signer,
            signer_key=device_key,
            cipher=scep.ContentCipher.AES256_CBC,
            digest=scep.DigestAlgorithm.SHA256,
        )

    request = build_request()

    def server_open() -> x509.CertificateSigningRequest:
        message = scep.parse_pki_message(request)
        scep.verify_pki_message(message, policy=policy)
        assert message.envelope is not None  # noqa: S101
        plaintext, _ = scep.decrypt_envelope(
            message.envelope, recipient_key=ra_key, recipient_certificate=ra_cert, policy=policy
        )
        parsed = scep.parse_csr(plaintext)
        scep.check_csr_key_matches_signer(parsed, message.signer_certificate)
        return parsed

    def sign_certificate() -> x509.Certificate:
        return build_end_entity_certificate(
            EndEntitySpec(
                public_key=csr.public_key(),
                subject=subject,
                sans=(),
                serial=x509.random_serial_number(),
                not_before=now,
                not_after=now + dt.timedelta(days=365),
                key_usage=KeyUsageSpec(digital_signature=True, key_encipherment=True),
                extended_key_usages=("1.3.6.1.5.5.7.3.2",),
                crl_url="http://x/crl",
                issuer_url="http://x/ca",
            ),
            issuer_certificate=ca_cert,
            issuer_key=ca_key,
        )

    issued = sign_certificate()

    def cert_rep() -> bytes:
        return scep.build_cert_rep(
            transaction_id="t",
            recipient_nonce=nonce,
            status=scep.PkiStatus.SUCCESS,
            signer_certificate=ra_cert,
            signer_key=ra_key,
            digest=scep.DigestAlgorithm.SHA256,
            recipient_certificate=signer,
            cipher=scep.ContentCipher.AES256_CBC,
            certificates=[issued, ca_cert],
            extra_certificates=[ca_cert],
        )

    reply = cert_rep()
    ciphertext = ra_key.public_key().encrypt(b"k" * 32, padding.PKCS1v15())
    operations: dict[str, Callable[[], Any]] = {
        "rsa2048_private_sign": lambda: ra_key.sign(b"x", padding.PKCS1v15(), hashes.SHA256()),
        "rsa2048_private_decrypt": lambda: ra_key.decrypt(ciphertext, padding.PKCS1v15()),
        "server_open_request (parse+verify+RSA decrypt+AES+CSR check)": server_open,
        "ca_sign_certificate (build_end_entity_certificate)": sign_certificate,
        "server_build_certrep (degenerate+AES+RSA encrypt+sign)": cert_rep,
        "client_build_request": build_request,
        "client_parse_certrep": lambda: scep.parse_cert_rep(
            reply,
            signer_key=device_key,
            signer_certificate=signer,
            expected_recipient_nonce=nonce,
            ra_certificate=[ra_cert, ca_cert],
            policy=policy,
        ),
    }
    out = {}
    for name, fn in operations.items():
        fn()
        start = time.perf_counter()
        for _ in range(iterations):
            fn()
        out[name] = round((time.perf_counter() - start) / iterations * 1000, 3)
    return out
