"""strongSwan's ``pki --scepca`` / ``pki --scep`` (Debian ``strongswan-pki`` 5.9.8 with
``libstrongswan-extra-plugins``, which has the curl fetcher) as a test client.

What it does, seen against certportal:

* GetCACaps: it reads its capability flags with bit numbers instead of masks (strongswan#1607), so it
  sees SHA-256, AES, POST and Renewal only when ``SHA-384`` (or ``DES3``) is advertised; certportal
  advertises every digest it accepts, SHA-384 included (``enrollment.scep.algorithms.capabilities``).
* ``pki --scepca`` writes the root to ``ca.der``, the issuing CA to ``ca-1.der`` and the RA to ``ra.der``.
* ``pki --scep``: AES-128-CBC and SHA-256 by default, PKCSReq with a self-signed signer, RenewalReq signed
  by ``--cert``/``--key``; the new key is ``--in``. It polls a PENDING request every ``--interval`` seconds
  (at least 60 by default) and prints the certificate on stdout (``--outform pem``).
* ``--san``: a DNS name as given, ``email:``, ``ipv4:``..., or ``asn1gn:#<hex>``, a raw DER GeneralName
  (how a UPN otherName is sent).
* Its PKCS#10 puts the extensionRequest attribute before the challengePassword whatever their DER order:
  when the SANs encode longer than the challenge, the attributes are not in DER (SET OF) order, which
  ``cryptography`` refuses to parse, so such a request is refused (badMessageCheck, the uniform answer to
  undecodable content). A request without SANs, or with a challenge longer than its SANs, or a RenewalReq
  (no challenge), is DER.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ca.tests.pki import require_executable

__all__ = ["ScepCa", "key_file", "pki", "scep_ca"]

TIMEOUT = 120


def pki(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_executable("pki"), *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        cwd=cwd,
    )


def key_file(key: rsa.RSAPrivateKey, path: Path) -> Path:
    """An RSA key as PKCS#1 PEM, which ``pki --in`` reads."""
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return path


class ScepCa:
    """The CA and RA certificates ``pki --scepca`` fetched, and ``pki --scep`` with them."""

    def __init__(self, url: str, directory: Path) -> None:
        self.url = url
        self.directory = directory

    @property
    def ra(self) -> x509.Certificate:
        return x509.load_der_x509_certificate((self.directory / "ra.der").read_bytes())

    def enroll(
        self,
        key: Path,
        *,
        subject: str,
        sans: tuple[str, ...] = (),
        challenge: str | None = None,
        renew: tuple[Path, Path] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """``pki --scep``: a PKCSReq, or with ``renew=(certificate, key)`` a RenewalReq signed by them."""
        args = [
            "--scep", "--url", self.url, "--in", str(key), "--dn", subject,
            "--cacert-enc", "ra.der", "--cacert-sig", "ra.der", "--cacert", "ca-1.der", "--cacert", "ca.der",
            "--outform", "pem", "--maxpolltime", "1",
        ]  # fmt: skip
        for san in sans:
            args += ["--san", san]
        if challenge is not None:
            args += ["--password", challenge]
        if renew is not None:
            args += ["--cert", str(renew[0]), "--key", str(renew[1])]
        return pki(*args, cwd=self.directory)


def scep_ca(url: str, directory: Path) -> ScepCa:
    """``pki --scepca``: fetch and check the SCEP service's certificates into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    fetched = pki("--scepca", "--url", url, "--caout", "ca.der", "--raout", "ra.der", cwd=directory)
    assert fetched.returncode == 0, fetched.stdout + fetched.stderr
    assert "RA cert is trusted" in fetched.stdout, fetched.stdout
    return ScepCa(url, directory)
