from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from audit import checks  # noqa: F401, PLC0415  (registers the system checks)
        from audit.hooks import hooks_install  # noqa: PLC0415  (needs the app registry)
        from audit.registration import register_all  # noqa: PLC0415  (reads every app's models)

        register_all()
        hooks_install()
