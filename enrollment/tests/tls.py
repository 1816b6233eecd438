"""HTTPS in front of a test server: a TLS-terminating TCP proxy on 127.0.0.1, as the production
reverse proxy (nginx) is in front of gunicorn, with a real server certificate from a TLS CA made here.

    with https_proxy(live_server.url, tmp_path) as proxy:
        proxy.url          # https://127.0.0.1:<port>, the live server behind TLS
        proxy.cafile       # the TLS CA (PEM) a client verifies the server with
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import select
import socket
import socketserver
import ssl
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["HttpsProxy", "https_proxy", "tls_ca_files"]


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def tls_ca_files(directory: Path, *, label: str = "tls") -> tuple[Path, Path, Path]:
    """A TLS CA and a server certificate for 127.0.0.1 (IP SAN) it issued: (CA file, certificate, key)."""
    now = dt.datetime.now(tz=dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(f"certportal tests {label} CA"))
        .issuer_name(_name(f"certportal tests {label} CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_certificate = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca_certificate.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    cafile = directory / f"{label}-ca.pem"
    certificate_file = directory / f"{label}-server.pem"
    key_file = directory / f"{label}-server.key"
    cafile.write_bytes(ca_certificate.public_bytes(serialization.Encoding.PEM))
    certificate_file.write_bytes(server_certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cafile, certificate_file, key_file


@dataclass(frozen=True)
class HttpsProxy:
    url: str
    cafile: Path


def _relay(client: ssl.SSLSocket, backend: socket.socket) -> None:
    """Pass bytes both ways until either side closes, in one thread (an SSL socket is not to be read and
    written from two threads at once).
    """
    while True:
        if client.pending():  # decrypted bytes that select() cannot see
            ready: list[socket.socket] = [client]
        else:
            ready, _, _ = select.select([client, backend], [], [], 60)
            if not ready:
                return
        for sock in ready:
            data = sock.recv(65536)
            if not data:
                return
            (backend if sock is client else client).sendall(data)


@contextlib.contextmanager
def https_proxy(upstream_url: str, directory: Path) -> Iterator[HttpsProxy]:
    """TLS on 127.0.0.1 (a free port) in front of the plain HTTP ``upstream_url``; bytes pass unchanged."""
    upstream = urllib.parse.urlsplit(upstream_url)
    address = (upstream.hostname or "127.0.0.1", upstream.port or 80)
    cafile, certificate_file, key_file = tls_ca_files(directory)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate_file, key_file)

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            try:
                client = context.wrap_socket(self.request, server_side=True)
            except (ssl.SSLError, OSError):  # e.g. a client that does not trust the certificate
                return
            with (
                client,
                socket.create_connection(address, timeout=60) as backend,
                contextlib.suppress(OSError),
            ):
                _relay(client, backend)

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    with Server(("127.0.0.1", 0), Handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield HttpsProxy(url=f"https://127.0.0.1:{server.server_address[1]}", cafile=cafile)
        finally:
            server.shutdown()
            thread.join(timeout=10)
