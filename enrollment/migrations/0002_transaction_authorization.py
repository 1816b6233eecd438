"""A transaction records what authorised it as data (kind + foreign keys), not as a parsed string, and keeps
no copy of the CSR (the CA request holds the one copy).
"""

import uuid

from django.db import migrations, models
import django.db.models.deletion


def from_reference(apps, schema_editor):
    ScepTransaction = apps.get_model("enrollment", "ScepTransaction")
    DeviceChallenge = apps.get_model("profiles", "DeviceChallenge")
    for record in ScepTransaction.objects.exclude(challenge_reference=""):
        kind, _, value = record.challenge_reference.partition(":")
        if kind == "static":
            record.authorization = "static_challenge"
        elif kind == "device-challenge":
            record.authorization = "one_time_challenge"
            try:
                challenge_id = uuid.UUID(value)
            except ValueError:
                challenge_id = None
            if challenge_id is not None and DeviceChallenge.objects.filter(pk=challenge_id).exists():
                record.challenge_id = challenge_id
        elif kind == "renewal":
            record.authorization = "renewal"  # renewed_certificate was already a foreign key
        record.save(update_fields=["authorization", "challenge"])


def to_reference(apps, schema_editor):
    ScepTransaction = apps.get_model("enrollment", "ScepTransaction")
    for record in ScepTransaction.objects.exclude(authorization=""):
        if record.authorization == "static_challenge":
            record.challenge_reference = "static"
        elif record.authorization == "one_time_challenge" and record.challenge_id:
            record.challenge_reference = f"device-challenge:{record.challenge_id}"
        elif record.authorization == "renewal" and record.renewed_certificate_id:
            certificate = record.renewed_certificate
            record.challenge_reference = f"renewal:{certificate.serial}@{certificate.authority_id}"
        record.save(update_fields=["challenge_reference"])


class Migration(migrations.Migration):
    dependencies = [
        ("enrollment", "0001_initial"),
        ("profiles", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="sceptransaction",
            name="authorization",
            field=models.CharField(
                blank=True,
                choices=[
                    ("static_challenge", "Static challenge"),
                    ("one_time_challenge", "One-time device challenge"),
                    ("renewal", "Renewal (signed by the current certificate)"),
                ],
                help_text="What authorised the request (never the challenge itself); empty for a refused request",
                max_length=24,
            ),
        ),
        migrations.AddField(
            model_name="sceptransaction",
            name="challenge",
            field=models.ForeignKey(
                blank=True,
                help_text="The one-time challenge that authorised it",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="scep_transactions",
                to="profiles.devicechallenge",
            ),
        ),
        migrations.RunPython(from_reference, to_reference),
        migrations.RemoveField(model_name="sceptransaction", name="challenge_reference"),
        migrations.RemoveField(model_name="sceptransaction", name="csr_der"),
    ]
