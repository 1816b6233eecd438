"""Registers the event log's fixtures (``eventlog.tests.fixtures``) for the tests below this folder."""

from eventlog.tests.fixtures import events  # noqa: F401 - imported so that pytest registers it
