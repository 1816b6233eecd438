from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("directory", "0003_device_security_identifier")]

    operations = [
        migrations.AlterModelOptions(
            name="device",
            options={
                "ordering": ("name",),
                "permissions": [
                    (
                        "rotate_checkin_token",
                        "Give a device a new check-in token (the device can then fetch one-time challenges for its "
                        "user)",
                    )
                ],
            },
        ),
    ]
