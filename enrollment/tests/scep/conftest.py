"""Session-scoped PKI for the SCEP library tests (RSA key generation is slow: once per session)."""

import pytest

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from enrollment.scep import AlgorithmPolicy, self_signed_signer

from .pki import Identity, make_ca, make_ra, name, rsa_key


@pytest.fixture(scope="session")
def ca() -> Identity:
    return make_ca()


@pytest.fixture(scope="session")
def ra(ca: Identity) -> Identity:
    return make_ra(ca)


@pytest.fixture(scope="session")
def foreign_ra() -> Identity:
    """An RA of some other CA: envelopes for it are not for us, its signatures are not our RA's."""
    return make_ra(make_ca("foreign CA"), "foreign RA")


@pytest.fixture(scope="session")
def requester() -> Identity:
    """A device key with the RFC 8894 §2.3 self-signed signer certificate."""
    key = rsa_key()
    return Identity(self_signed_signer(key, name("device-1")), key)


@pytest.fixture(scope="session")
def ec_signer() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    return key, self_signed_signer(key, name("ec-device"))


@pytest.fixture
def strict() -> AlgorithmPolicy:
    return AlgorithmPolicy()


@pytest.fixture
def legacy() -> AlgorithmPolicy:
    return AlgorithmPolicy(allow_legacy=True)
