from directory.tests.fixtures import admin_api, client_for

__all__ = ["admin_api", "client_for"]
