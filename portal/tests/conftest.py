"""Registers the profiles tests' fixtures for the portal's tests of check-in and payload responses."""

from profiles.tests.fixtures import (  # noqa: F401 - imported so that pytest registers them
    assign_to_users,
    assigned,
    device,
    make_profile,
    profiles_ra_rows,
    root_profile,
    root_scep_service,
    scep_profile,
    scep_service,
    user,
    user_group,
)
