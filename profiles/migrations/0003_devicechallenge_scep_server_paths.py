"""A one-time challenge is bound to the SCEP services of its profile (the URL paths of its SCEP servers)."""

from urllib.parse import urlsplit

from django.db import migrations, models


def fill(apps, schema_editor):
    DeviceChallenge = apps.get_model("profiles", "DeviceChallenge")
    for challenge in DeviceChallenge.objects.select_related("profile"):
        urls = challenge.profile.scep_server_urls or []
        challenge.scep_server_paths = sorted({urlsplit(str(url)).path or "/" for url in urls})
        challenge.save(update_fields=["scep_server_paths"])


class Migration(migrations.Migration):
    dependencies = [("profiles", "0002_certificate_lifecycle")]

    operations = [
        migrations.AddField(
            model_name="devicechallenge",
            name="scep_server_paths",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="URL paths of the profile's SCEP servers at issue: the SCEP services it is good for",
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
