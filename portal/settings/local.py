"""Settings for running on one machine: the embedded default, or a developer's own services."""

from portal.settings.base import *  # noqa: F403
