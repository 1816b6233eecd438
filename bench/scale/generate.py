"""The data set, made fast: certificates by INSERT ... SELECT over generate_series in batches (PostgreSQL
makes the rows), devices, groups and memberships by ``bulk_create``, the profiles and their assignments
through the project's services, the users' import file as CSV text.

Certificates are rows, not signed certificates: distinct serials, subjects and thumbprints, notBefore over
the last 25 months, a two-year validity (so about 4 % have expired), revoked ones interleaved with a reason
and a date. Their ``der`` column holds one of a small pool of real certificates (parsed by the API's ``pem``
field and the admin), not the row's own: signing a million certificates is not what is measured.

Imported only once Django is set up (``bench.scale.environment``).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from django.db import connection, transaction
from django.utils.crypto import salted_hmac

from bench.runtime import log
from ca.models import CertificateAuthority, CertificateTemplate
from directory.models import Device, Group, GroupKind, Platform
from directory.services.checkin_tokens import CHECKIN_TOKEN_SALT
from profiles.choices import AssignmentTarget
from profiles.naming.subject import SubjectNameFormat
from profiles.naming.variables import CertificateType
from profiles.services.profiles import assignment_create, scep_profile_create, trusted_root_profile_create

__all__ = [
    "CHECKIN_TOKEN",
    "DataSet",
    "certificates_generate",
    "certificates_revoke_all",
    "directory_generate",
    "users_csv",
]

#: Every generated device's check-in token is this followed by its number.
CHECKIN_TOKEN = "scale-checkin-token-"  # noqa: S105  (a benchmark's throw-away token)
DER_POOL = 64
BATCH = 100_000


@dataclass
class DataSet:
    authority_id: int
    template_id: int
    certificates: int = 0
    revoked: int = 0
    devices: int = 0
    groups: int = 0
    seconds: dict[str, float] | None = None


def _der_pool(count: int) -> list[bytes]:
    """Real, parseable certificates (EC P-256, self-issued by a throw-away key) for the ``der`` column."""
    key = ec.generate_private_key(ec.SECP256R1())
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "certportal scale pool")])
    now = dt.datetime.now(dt.UTC)
    pool = []
    for index in range(count):
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Corp"),
                x509.NameAttribute(NameOID.COMMON_NAME, f"device-pool-{index}"),
            ]
        )
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=730))
            .add_extension(
                x509.SubjectAlternativeName([x509.DNSName(f"device-pool-{index}.corp.example.com")]),
                critical=False,
            )
            .sign(key, hashes.SHA256())
        )
        pool.append(certificate.public_bytes(Encoding.DER))
    return pool


# One row per i: notBefore in the last 760 days (so certificates were issued every day up to now), notAfter =
# notBefore + 730 d (about 4 % have expired); revoked every ``stride``-th row (``revoked`` of them), issued in
# the last 729 days so that each is still valid and on the CRL, with reasons weighted roughly as a fleet
# revokes: superseded 40 %, cessation of operation 25 %, affiliation changed 15 %, key compromise 10 %,
# unspecified 10 %.
_INSERT = """
INSERT INTO ca_issuedcertificate (
    created_at, updated_at, authority_id, template_id, request_id, serial, subject, sans, not_before,
    not_after, fingerprint_sha1, fingerprint_sha256, public_key_sha256, der, revoked_at, revocation_reason
)
SELECT nb, nb, %(authority)s, %(template)s, NULL,
       upper('1' || lpad(to_hex(i), 7, '0') || substr(md5(%(salt)s || i::text), 1, 32)),
       'CN=device-' || lpad(i::text, 7, '0') || ',OU=Devices,O=Example Corp',
       jsonb_build_array('DNS:device-' || lpad(i::text, 7, '0') || '.corp.example.com'),
       nb, nb + interval '730 days',
       upper(substr(encode(sha256(convert_to('sha1' || %(salt)s || i::text, 'UTF8')), 'hex'), 1, 40)),
       upper(encode(sha256(convert_to(%(salt)s || i::text, 'UTF8')), 'hex')),
       encode(sha256(convert_to('key' || %(salt)s || i::text, 'UTF8')), 'hex'),
       pool.der,
       CASE WHEN revoked THEN nb + (%(now)s - nb) * r3 END,
       CASE WHEN revoked THEN
           CASE WHEN r4 < 0.40 THEN 'superseded' WHEN r4 < 0.65 THEN 'cessation_of_operation'
                WHEN r4 < 0.80 THEN 'affiliation_changed' WHEN r4 < 0.90 THEN 'key_compromise'
                ELSE 'unspecified' END
       ELSE '' END
FROM (
    SELECT i, revoked, random() AS r3, random() AS r4,
           %(now)s - random() * CASE WHEN revoked THEN interval '729 days' ELSE interval '760 days' END AS nb
    FROM (
        SELECT i, (i %% %(stride)s = 0 AND i / %(stride)s <= %(revoked)s) AS revoked
        FROM generate_series(%(first)s, %(last)s) AS i
    ) picked
) g
JOIN scale_der_pool pool ON pool.n = g.i %% %(pool)s
"""


def certificates_generate(*, count: int, revoked: int, authority_id: int, template_id: int) -> float:
    """Insert ``count`` certificate rows of ``authority_id`` (``revoked`` of them revoked); seconds taken."""
    started = time.perf_counter()
    revoked = min(revoked, count)
    stride = max(count // revoked, 1) if revoked else count + 1
    now = dt.datetime.now(dt.UTC)
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.13)")
        cursor.execute("CREATE TEMPORARY TABLE scale_der_pool (n integer PRIMARY KEY, der bytea NOT NULL)")
        for n, der in enumerate(_der_pool(DER_POOL)):
            cursor.execute("INSERT INTO scale_der_pool VALUES (%s, %s)", [n, der])
        for first in range(1, count + 1, BATCH):
            last = min(first + BATCH - 1, count)
            with transaction.atomic():
                cursor.execute(
                    _INSERT,
                    {
                        "authority": authority_id,
                        "template": template_id,
                        "salt": "scale",
                        "now": now,
                        "stride": stride,
                        "revoked": revoked,
                        "first": first,
                        "last": last,
                        "pool": DER_POOL,
                    },
                )
            log(f"  certificates: {last:,} of {count:,} ({time.perf_counter() - started:.0f} s)")
        cursor.execute("DROP TABLE scale_der_pool")
        cursor.execute("VACUUM (ANALYZE) ca_issuedcertificate")
    return time.perf_counter() - started


def certificates_revoke_all(*, authority_id: int) -> tuple[int, float]:
    """Revoke every generated certificate that is not, each still valid for a while (for the large CRL;
    the RA's and the OCSP responder's certificates stay valid).
    """
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE ca_issuedcertificate SET revoked_at = not_before + interval '1 day', "
            "revocation_reason = 'cessation_of_operation', "
            "not_after = GREATEST(not_after, now() + interval '30 days') "
            "WHERE authority_id = %s AND revoked_at IS NULL AND subject LIKE 'CN=device-%%'",
            [authority_id],
        )
        changed = cursor.rowcount
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) ca_issuedcertificate")
    return changed, time.perf_counter() - started


def _digest(token: str) -> str:
    """The stored form of a check-in token (``directory.services.checkin_tokens``, without a row each)."""
    return salted_hmac(CHECKIN_TOKEN_SALT, token, algorithm="sha256").hexdigest()


def directory_generate(*, devices: int, groups: int) -> dict[str, Any]:
    """``groups`` device groups, a trusted-root and a SCEP profile (device certificate) assigned to each
    group through the profiles' services, then ``devices`` iOS devices spread over the groups.
    """
    started = time.perf_counter()
    groups = max(1, min(groups, devices or 1))
    group_rows = Group.objects.bulk_create(
        [
            Group(external_id=f"scale-group-{g:04d}", name=f"Scale devices {g:04d}", kind=GroupKind.DEVICE)
            for g in range(groups)
        ],
        batch_size=1000,
    )
    issuing = CertificateAuthority.objects.get(slug="demo-issuing")
    root = trusted_root_profile_create(
        authority=issuing.parent, name="Scale root (iOS)", platform=Platform.IOS
    )
    profile = scep_profile_create(
        name="Scale device certificate (iOS)",
        platform=Platform.IOS,
        certificate_type=CertificateType.DEVICE,
        subject_name_format=SubjectNameFormat.CUSTOM,
        subject_name_format_string="CN={{DeviceName}},OU=Devices,O=Example Corp",
        subject_alternative_names=[{"type": "dns", "value": "{{DeviceName}}.corp.example.com"}],
        hash_algorithms=[],
        key_size=2048,
        root_profile=root,
        authority=issuing,
        template=CertificateTemplate.objects.get(name="CertportalDemo"),
        scep_server_urls=["http://localhost:8000/certsrv/mscep/mscep.dll"],
    )
    for group in group_rows:  # before the devices join: nothing to reconcile yet
        assignment_create(trusted_root_profile=root, target=AssignmentTarget.GROUP, group=group)
        assignment_create(scep_profile=profile, target=AssignmentTarget.GROUP, group=group)
    assigned = time.perf_counter() - started
    membership = Group.devices.through
    for first in range(0, devices, 10_000):
        numbers = range(first, min(first + 10_000, devices))
        with transaction.atomic():
            rows = Device.objects.bulk_create(
                [
                    Device(
                        external_id=f"scale-device-{n:07d}",
                        name=f"iPhone-{n:07d}",
                        platform=Platform.IOS,
                        os_version="17.4",
                        serial_number=f"SC{n:010d}",
                        checkin_token_digest=_digest(f"{CHECKIN_TOKEN}{n}"),
                    )
                    for n in numbers
                ],
                batch_size=5000,
            )
            membership.objects.bulk_create(
                [
                    membership(group_id=group_rows[n % groups].pk, device_id=row.pk)
                    for n, row in zip(numbers, rows, strict=True)
                ],
                batch_size=5000,
            )
        log(f"  devices: {numbers[-1] + 1:,} of {devices:,} ({time.perf_counter() - started:.0f} s)")
    with connection.cursor() as cursor:  # the planner's statistics of what was just loaded
        cursor.execute("ANALYZE directory_device, directory_group, directory_group_devices")
        cursor.execute("ANALYZE profiles_profileassignment")
    return {
        "groups": groups,
        "devices": devices,
        "assignments": 2 * groups,
        "profiles_and_assignments_s": round(assigned, 2),
        "seconds": round(time.perf_counter() - started, 2),
    }


def users_csv(count: int) -> bytes:
    """An import file of ``count`` users, as an Entra export would give them."""
    lines = ["external_id,user_principal_name,display_name,email,department,enabled"]
    departments = ("Sales", "Engineering", "Finance", "Operations", "Support")
    lines += [
        f"0c0ffee0-0000-4000-8000-{n:012d},user{n:06d}@corp.example.com,User {n:06d},"
        f"user{n:06d}@corp.example.com,{departments[n % len(departments)]},true"
        for n in range(count)
    ]
    return ("\n".join(lines) + "\n").encode()
