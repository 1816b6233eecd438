"""Root conftest: shared fixtures are registered per app (see ``pytest_plugins``)."""

pytest_plugins = ["ca.tests.fixtures"]
