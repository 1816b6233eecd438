from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "access"
    verbose_name = "Access: roles and API tokens"

    def ready(self) -> None:
        from access import checks, signals  # noqa: F401, PLC0415  (registers the checks and the roles' sync)
