from django.apps import AppConfig


class ProfilesConfig(AppConfig):
    name = "profiles"
    verbose_name = "Certificate profiles"

    def ready(self) -> None:
        from profiles import checks  # noqa: F401, PLC0415  (registers the system checks)
