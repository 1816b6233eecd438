"""strongSwan's ``pki --scepca`` / ``pki --scep`` (Debian ``strongswan-pki`` 5.9.8 with
``libstrongswan-extra-plugins``, which has the curl fetcher) as a test client.

What it does, seen against certportal:

* GetCACaps: it reads its capability flags with bit numbers instead of masks (strongswan#1607), so it
  sees SHA-256, AES, POST and Renewal only when ``SHA-384`` (or ``DES3``) is advertised; certportal
  advertises every digest it accepts, SHA-384 included (``enrollment.scep.algorithms.capabilities``).
* ``pki --scepca`` writes the root to ``ca.der``, the issuing CA to ``ca-1.der`` and the RA to ``ra.der``.
* ``pki --scep``: AES-128-CBC and SHA-256 by default, PKCSReq with a self-signed signer, RenewalReq signed
  by ``--cert``/``--key`` (the old certificate and key; the new key is ``--in``). It prints the
  certificate on stdout (``--outform pem``). A PENDING request is polled with CertPoll every
  ``--interval`` seconds (default 60; any whole number from 1 is accepted) until ``--maxpolltime``
  seconds have passed (0, the default, polls for ever); then, or on FAILURE, it exits 1.
* ``--san``: a DNS name as given, ``email:``, ``ipv4:``..., or ``asn1gn:#<hex>``, a raw DER GeneralName
  (how a UPN otherName is sent).
* Its PKCS#10 puts the extensionRequest attribute before the challengePassword whatever their DER order:
  when the SANs encode longer than the challenge, the attributes are not in DER (SET OF) order, which
  ``cryptography`` refuses to parse, so such a request is refused (badMessageCheck, the uniform answer to
  undecodable content). A request without SANs, or with a challenge longer than its SANs, or a RenewalReq
  (no challenge), is DER.

HTTPS: how pki is told which CA to trust for the server's TLS certificate. It cannot be, in 5.9.8 (nor
in strongSwan's current source): the curl plugin sets no CA option on its libcurl handle (its only
strongswan.conf setting is ``libstrongswan.plugins.curl.redir``), ``pki --scep``/``--scepca`` have no TLS
option, and Debian's libcurl reads no ``CURL_CA_BUNDLE``, ``SSL_CERT_FILE`` or ``SSL_CERT_DIR`` (only the
curl command-line tool does): it verifies against its compiled-in ``/etc/ssl/certs/ca-certificates.crt``.
So, without installing the CA into the system's trust store, these tests run pki in a private mount
namespace in which that path is a bind-mounted copy of the system bundle plus the test's TLS CA
(``certmonger.libcurl_trusting``). Verification stays on: a server whose certificate does not chain to
that bundle is refused (libcurl error 60).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ca.tests.pki import require_executable
from enrollment.tests.clients.certmonger import libcurl_trusting

__all__ = ["ScepCa", "key_file", "pki", "pki_command", "scep_ca"]

TIMEOUT = 120


def pki_command(*args: str, trust: Path, cwd: Path) -> list[str]:
    """``pki <args>`` whose libcurl trusts the CA file ``trust`` for https (see the module's docstring)."""
    return libcurl_trusting([require_executable("pki"), *args], trust, cwd)


def pki(*args: str, trust: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``pki <args>`` run to its end in ``cwd``."""
    return subprocess.run(
        pki_command(*args, trust=trust, cwd=cwd),
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


@dataclass(frozen=True)
class ScepCa:
    """The CA and RA certificates ``pki --scepca`` fetched (in ``directory``), and ``pki --scep`` with them;
    ``trust`` is the CA file of the server's TLS certificate.
    """

    url: str
    directory: Path
    trust: Path

    @property
    def ra(self) -> x509.Certificate:
        return x509.load_der_x509_certificate((self.directory / "ra.der").read_bytes())

    def enroll_command(
        self,
        key: Path,
        *,
        subject: str,
        sans: tuple[str, ...] = (),
        challenge: str | None = None,
        renew: tuple[Path, Path] | None = None,
        interval: int = 1,
        max_poll_time: int = 1,
    ) -> list[str]:
        """``pki --scep`` (run it in :attr:`directory`): a PKCSReq, or with ``renew=(certificate, key)`` a
        RenewalReq signed by them; a PENDING answer is polled every ``interval`` s for ``max_poll_time`` s.
        """
        args = [
            "--scep", "--url", self.url, "--in", str(key), "--dn", subject,
            "--cacert-enc", "ra.der", "--cacert-sig", "ra.der", "--cacert", "ca-1.der", "--cacert", "ca.der",
            "--outform", "pem", "--interval", str(interval), "--maxpolltime", str(max_poll_time),
        ]  # fmt: skip
        for san in sans:
            args += ["--san", san]
        if challenge is not None:
            args += ["--password", challenge]
        if renew is not None:
            args += ["--cert", str(renew[0]), "--key", str(renew[1])]
        return pki_command(*args, trust=self.trust, cwd=self.directory)

    def enroll(
        self,
        key: Path,
        *,
        subject: str,
        sans: tuple[str, ...] = (),
        challenge: str | None = None,
        renew: tuple[Path, Path] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """:meth:`enroll_command` run to its end (a PENDING answer is polled for a second)."""
        command = self.enroll_command(key, subject=subject, sans=sans, challenge=challenge, renew=renew)
        return subprocess.run(
            command, capture_output=True, text=True, timeout=TIMEOUT, check=False, cwd=self.directory
        )


def scep_ca(url: str, directory: Path, *, trust: Path) -> ScepCa:
    """``pki --scepca``: fetch and check the SCEP service's certificates into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    fetched = pki(
        "--scepca", "--url", url, "--caout", "ca.der", "--raout", "ra.der", trust=trust, cwd=directory
    )
    assert fetched.returncode == 0, fetched.stdout + fetched.stderr
    output = fetched.stdout + fetched.stderr  # its log goes to stderr when run through libcurl_trusting's sh
    assert "RA cert is trusted" in output, output
    return ScepCa(url, directory, trust)
