from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        from portal import checks  # noqa: F401, PLC0415  (registers the system checks)


class CertportalAdminConfig(admin_apps.AdminConfig):
    """Django's admin with certportal's site as the default site (``@admin.register`` registers there)."""

    default = False  # not the portal app's config: INSTALLED_APPS names it instead of django.contrib.admin
    default_site = "portal.admin_site.CertportalAdminSite"

    def ready(self) -> None:
        super().ready()  # autodiscovers every app's admin module
        # The certificate list's filters by profile, device and user belong to profiles (ca must not know
        # them); the project, which sees both, attaches them to the CA's hook.
        from profiles.admin_certificates import certificate_admin_extend  # noqa: PLC0415

        certificate_admin_extend()
