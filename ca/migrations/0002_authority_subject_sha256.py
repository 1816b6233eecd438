"""Store the SHA-256 of each CA's canonical subject, so a SCEP message's issuer name finds its CA by index."""

import hashlib

from cryptography import x509
from django.db import migrations, models


def _canonical_subject_sha256(name: x509.Name) -> str:
    # Frozen copy of ca.crypto.canonical at the time of this migration (migrations must not change later).
    special = frozenset('\\,+="<>;#')

    def value(text):
        if isinstance(text, bytes):
            return "#" + text.hex()
        out = []
        for char in text:
            if char in special or ord(char) < 0x20 or ord(char) == 0x7F:
                out.extend(f"\\{byte:02X}" for byte in char.encode("utf-8"))
            else:
                out.append(char)
        return "".join(out)

    rdns = []
    for rdn in name.rdns:
        attributes = sorted((attribute.oid.dotted_string, value(attribute.value)) for attribute in rdn)
        rdns.append("+".join(f"{oid}={text}" for oid, text in attributes))
    return hashlib.sha256(",".join(rdns).encode("utf-8")).hexdigest()


def fill(apps, schema_editor):
    CertificateAuthority = apps.get_model("ca", "CertificateAuthority")
    for authority in CertificateAuthority.objects.all():
        certificate = x509.load_pem_x509_certificate(authority.certificate_pem.encode("ascii"))
        authority.subject_sha256 = _canonical_subject_sha256(certificate.subject)
        authority.save(update_fields=["subject_sha256"])


class Migration(migrations.Migration):
    dependencies = [("ca", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="certificateauthority",
            name="subject_sha256",
            field=models.CharField(
                db_index=True,
                default="",
                editable=False,
                help_text="SHA-256 of the canonical subject: how a SCEP message's issuer name finds its CA",
                max_length=64,
            ),
            preserve_default=False,
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
