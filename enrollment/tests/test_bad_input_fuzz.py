"""Mutated SCEP messages against the real view (issue 12, item 6): never a 500, never an escaped
exception, never a certificate or a request that the unmutated messages did not already have.

The seeds are valid messages of every type the endpoint accepts, already answered once (so a mutation that
leaves the signed content intact, e.g. in the unsigned certificates field, is a retransmission and gets the
stored answer). ``test_bounded_fuzz_run`` sends 1,000 mutated messages in the suite. The long run is the
same code with more messages, a report, its own seed and optionally a time budget (it stops there and
reports how many it sent)::

    CERTPORTAL_FUZZ_MESSAGES=1000000 CERTPORTAL_FUZZ_SECONDS=1500 CERTPORTAL_FUZZ_REPORT=/tmp/fuzz.json \\
        nice .venv/bin/python -m pytest -q -p no:randomly \\
        enrollment/tests/test_bad_input_fuzz.py::test_long_fuzz_run

(docs/security.md, "Fuzzing", has the latest numbers).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ca.models import CertificateRequest, IssuedCertificate
from ca.tests.fixtures import Pki
from enrollment import scep
from enrollment.models import ScepService, ScepTransaction
from enrollment.tests.fixtures import Device, ScepTester, issued_row
from enrollment.tests.fuzz import FuzzReport, Mutator, Seed, fuzz_run, tlv_lengths
from eventlog.models import ConnectorEvent


@pytest.fixture
def seeds(
    scep_tester: Callable[..., ScepTester],
    legacy_scep_service: ScepService,
    device_keys: list[Any],
    pki: Pki,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> list[Seed]:
    """One valid message of each kind, each sent once (and issued where it asks for a certificate)."""
    settings.CERTPORTAL_SCEP_ISSUE_WAIT = 0
    strict, legacy = scep_tester(), scep_tester(legacy_scep_service)
    device = Device.create(device_keys[0])
    enrolment = strict.pkcs_req(device)
    with django_capture_on_commit_callbacks(execute=True):
        strict.exchange(enrolment)
    current = issued_row(strict.exchange(enrolment))
    renewal = strict.message(
        scep.MessageType.RENEWAL_REQ,
        Device.create(device_keys[1]).csr(challenge=None, subject=device.subject),
        signer=scep.ScepIdentity(current.certificate, device.key),
    )
    issuer = pki.issuing.certificate.subject
    other = Device.create(device_keys[2], "device-3")
    messages = {
        "PKCSReq": (strict, enrolment),
        "RenewalReq": (strict, renewal),
        "CertPoll": (
            strict,
            strict.message(
                scep.MessageType.CERT_POLL,
                scep.build_issuer_and_subject(issuer, device.subject),
                signer=device,
                transaction_id=enrolment.transaction_id,
            ),
        ),
        "GetCert": (
            strict,
            strict.message(
                scep.MessageType.GET_CERT,
                scep.build_issuer_and_serial(issuer, current.serial_int),
                signer=device,
            ),
        ),
        "GetCRL": (
            strict,
            strict.message(scep.MessageType.GET_CRL, scep.build_issuer_and_serial(issuer, 1), signer=device),
        ),
        "PKCSReq wrong challenge": (
            strict,
            strict.pkcs_req(other, other.csr(challenge="wrong")),
        ),
        "PKCSReq 3DES SHA-1 (legacy)": (
            legacy,
            legacy.pkcs_req(
                Device.create(device_keys[3], "d4"),
                cipher=scep.ContentCipher.DES3_CBC,
                digest=scep.DigestAlgorithm.SHA1,
            ),
        ),
    }
    legacy_policy = scep.AlgorithmPolicy(allow_legacy=True)
    result = []
    for label, (tester, sent) in messages.items():
        with django_capture_on_commit_callbacks(execute=True):  # issued on commit: PENDING, then...
            tester.exchange(sent, policy=legacy_policy)
        answer = tester.exchange(sent, policy=legacy_policy)  # ... the retransmission gets it
        expected = scep.PkiStatus.FAILURE if "wrong" in label else scep.PkiStatus.SUCCESS
        assert answer.status is expected, (label, answer.status, answer.fail_info_text)
        result.append(Seed(label, sent.der, tester.url))
    return result


def _drop_refusal_rows(report: FuzzReport) -> None:
    """The rows refusals leave (events, refused transactions) are bounded per request; drop them as we go."""
    ConnectorEvent.objects.all().delete()
    ScepTransaction.objects.filter(certificate_request__isnull=True).delete()


def _run(
    client: Any,
    seeds: list[Seed],
    count: int,
    seed: int,
    *,
    progress: bool = False,
    seconds: float | None = None,
) -> FuzzReport:
    issued, requests = IssuedCertificate.objects.count(), CertificateRequest.objects.count()

    def every(report: FuzzReport) -> None:
        _drop_refusal_rows(report)
        if progress:
            print(  # noqa: T201 - the long run's progress, on the terminal
                f"{report.messages} messages, {report.seconds:.0f} s, 500s {report.http_500}, "
                f"unhandled {report.unhandled}",
                file=sys.stderr,
                flush=True,
            )

    report = fuzz_run(
        client=client, seeds=seeds, count=count, seed=seed, every=2_000, on_every=every, seconds=seconds
    )
    assert report.http_500 == 0, report.examples
    assert report.unhandled == 0, report.examples
    assert report.unexpected_logged == 0
    assert IssuedCertificate.objects.count() == issued
    assert CertificateRequest.objects.count() == requests
    return report


def test_tlv_lengths_finds_the_nested_lengths(seeds):
    lengths = tlv_lengths(seeds[0].der)
    assert lengths[0] == (1, 3)  # the outer SEQUENCE's 0x82 xx xx
    assert len(lengths) > 50  # down into the certificates, the signed attributes and the envelope


def test_mutations_are_reproducible(seeds):
    first, second = Mutator(seeds, 7), Mutator(seeds, 7)
    assert [first.mutate()[2] for _ in range(200)] == [second.mutate()[2] for _ in range(200)]


@pytest.mark.django_db
def test_bounded_fuzz_run(client, seeds):
    report = _run(client, seeds, 1_000, seed=8894)
    assert report.messages == 1_000
    # The mutations reach every layer: HTTP refusals, and CertRep FAILUREs of several kinds.
    assert report.answers["400 text/plain"] > 0
    failures = {answer for answer in report.answers if answer.startswith("200 FAILURE")}
    assert {"200 FAILURE BAD_MESSAGE_CHECK", "200 FAILURE BAD_REQUEST"} <= failures, report.answers


@pytest.mark.django_db
@pytest.mark.timeout(0)
@pytest.mark.skipif(
    not os.environ.get("CERTPORTAL_FUZZ_MESSAGES"), reason="the long run: set CERTPORTAL_FUZZ_MESSAGES"
)
def test_long_fuzz_run(client, seeds):
    count = int(os.environ["CERTPORTAL_FUZZ_MESSAGES"])
    seed = int(os.environ.get("CERTPORTAL_FUZZ_SEED", "20261201"))
    seconds = float(os.environ.get("CERTPORTAL_FUZZ_SECONDS", "0")) or None
    report = _run(client, seeds, count, seed=seed, progress=True, seconds=seconds)
    out = Path(os.environ.get("CERTPORTAL_FUZZ_REPORT", "/tmp/certportal-fuzz.json"))  # noqa: S108
    out.write_text(json.dumps({"seed": seed, **report.as_dict()}, indent=2) + "\n", encoding="utf-8")
