from django.apps import AppConfig


class EventlogConfig(AppConfig):
    name = "eventlog"
    verbose_name = "Connector event log"

    def ready(self) -> None:
        from eventlog import checks  # noqa: F401, PLC0415  (registers the system checks)
