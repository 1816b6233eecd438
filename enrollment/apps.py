from django.apps import AppConfig


class EnrollmentConfig(AppConfig):
    name = "enrollment"
    verbose_name = "SCEP enrollment"

    def ready(self) -> None:
        from enrollment import checks  # noqa: F401, PLC0415  (registers the system checks)
