from django.apps import AppConfig


class CaConfig(AppConfig):
    name = "ca"
    verbose_name = "Certificate authority"

    def ready(self) -> None:
        from ca import checks  # noqa: F401, PLC0415  (registers the system checks)
