"""Experiment: the embedded default (local settings), but SQLite connections persist between requests.

Without ``CONN_MAX_AGE`` Django opens a new SQLite connection (and runs the WAL pragmas) per request.
"""

from portal.settings.local import *  # noqa: F403
from portal.settings.local import DATABASES

DATABASES["default"]["CONN_MAX_AGE"] = 600
