"""The read-only PKIOperations: CertPoll, GetCert, GetCRL."""

from __future__ import annotations

from cryptography import x509

from ca.crypto.serials import serial_to_hex
from ca.selectors import authority_list_by_subject, certificate_get_by_issuer_and_serial, crl_get_latest
from enrollment import scep
from enrollment.selectors import scep_transaction_latest
from enrollment.services.pki_operation.exchange import DecryptedContent, Exchange, ScepReply
from enrollment.services.pki_operation.transaction import transaction_replay
from eventlog.choices import EventId

__all__ = ["cert_poll", "get_cert", "get_crl"]


def cert_poll(exchange: Exchange, plaintext: DecryptedContent) -> ScepReply:
    plaintext.issuer_and_subject()
    record = scep_transaction_latest(service=exchange.service, transaction_id=exchange.message.transaction_id)
    if record is None:
        raise scep.ScepFailure(scep.FailInfo.BAD_CERT_ID, "no transaction with this transactionID")
    return transaction_replay(exchange, record)


def _record(exchange: Exchange, message: str, *, authority_slug: str, serial: str = "") -> None:
    exchange.record(
        event_id=EventId.SCEP_REQUEST_SUCCESS, message=message, authority_slug=authority_slug, serial=serial
    )


def get_cert(exchange: Exchange, plaintext: DecryptedContent) -> ScepReply:
    """Certificates are public: any requester may fetch one by issuer and serial."""
    issuer, serial = plaintext.issuer_and_serial()
    issued = certificate_get_by_issuer_and_serial(issuer=issuer, serial=serial)
    if issued is None:
        if not authority_list_by_subject(subject=issuer):
            raise scep.ScepFailure(scep.FailInfo.BAD_CERT_ID, f"no CA named {issuer.rfc4514_string()}")
        raise scep.ScepFailure(
            scep.FailInfo.BAD_CERT_ID, f"no certificate with serial {serial_to_hex(serial)}"
        )
    _record(exchange, f"GetCert {issued.serial}", authority_slug=issued.authority.slug, serial=issued.serial)
    return exchange.success([issued.certificate])


def get_crl(exchange: Exchange, plaintext: DecryptedContent) -> ScepReply:
    """The latest CRL of the CA that issued the named certificate (if unknown: of the CA so named)."""
    issuer, serial = plaintext.issuer_and_serial()
    issued = certificate_get_by_issuer_and_serial(issuer=issuer, serial=serial)
    if issued is not None:
        authority = issued.authority
    else:
        candidates = authority_list_by_subject(subject=issuer)
        if not candidates:
            raise scep.ScepFailure(scep.FailInfo.BAD_CERT_ID, f"no CA named {issuer.rfc4514_string()}")
        authority = candidates[0]
    crl = crl_get_latest(authority=authority)
    if crl is None:
        raise scep.ScepFailure(scep.FailInfo.BAD_CERT_ID, f"CA {authority.slug} has not published a CRL")
    _record(exchange, f"GetCRL #{crl.number} of {authority.slug}", authority_slug=authority.slug)
    return exchange.success_crl(x509.load_der_x509_crl(bytes(crl.der)))
