"""Fixtures of the audit log's tests (and the SCEP service fixtures they borrow from enrollment)."""

from audit.tests.fixtures import sealing, tamper  # noqa: F401 - imported so that pytest registers them
from enrollment.tests.fixtures import (  # noqa: F401 - imported so that pytest registers them
    legacy_scep_service,
    ra_rows,
    registration_authority,
    scep_service,
)
