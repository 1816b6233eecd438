"""The fault suite's PKI in its private database: run once, in a process of its own, by
``FaultTopology.bootstrap`` (``manage.py shell -c "...run(...)"``, tasks in process).

A root and an issuing CA (RSA 2048, fast to make), the client-authentication template, an RA and the
SCEP service ``faults`` with a static challenge, as ``portal.tests.test_topology`` sets up in the test
database.
"""

from __future__ import annotations

from cryptography import x509

from ca.crypto.keys import KeySpec
from ca.models import CertificateTemplate
from ca.services.authorities import authority_create
from ca.services.revocation import crl_generate
from enrollment.services.registration import registration_authority_create, scep_service_create

__all__ = ["run"]


def run(*, challenge: str) -> None:
    template = CertificateTemplate(name="FaultsClientAuth", display_name="Fault suite client authentication")
    template.full_clean()
    template.save()
    root = authority_create(
        name="Faults Root CA",
        slug="faults-root",
        subject=x509.Name.from_rfc4514_string("CN=Faults Root CA,O=certportal faults"),
        key_spec=KeySpec("RSA", 2048),
        validity_days=3650,
    )
    issuing = authority_create(
        name="Faults Issuing CA",
        slug="faults-issuing",
        subject=x509.Name.from_rfc4514_string("CN=Faults Issuing CA,O=certportal faults"),
        key_spec=KeySpec("RSA", 2048),
        validity_days=1825,
        parent=root,
        path_length=0,
    )
    issuing.published_templates.add(template)
    crl_generate(authority=root)
    crl_generate(authority=issuing)
    ra = registration_authority_create(
        authority=issuing, name="Faults RA", subject=x509.Name.from_rfc4514_string("CN=Faults RA")
    )
    scep_service_create(
        slug="faults",
        name="Faults SCEP",
        authority=issuing,
        registration_authority=ra,
        general_purpose_template=template,
        allow_legacy_algorithms=True,
        static_challenge=challenge,
        is_default=True,
    )
