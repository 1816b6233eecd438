"""Registers the SCEP front end's fixtures (``enrollment.tests.fixtures``) for the tests below this folder."""

from enrollment.tests.fixtures import (  # noqa: F401 - imported so that pytest registers them
    device_keys,
    enrol_now,
    legacy_scep_service,
    next_registration_authority,
    ra_rows,
    registration_authority,
    scep_client,
    scep_service,
    scep_tester,
)
