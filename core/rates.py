"""Rates as the settings write them: ``"<count>/<period>"``, e.g. ``30/h``, ``5/15m``, ``120/min``.

Pure (no Django): the settings modules read the login lockout's rate with it while they load, and the
API's throttles (``core.throttling``) read theirs at request time.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["Rate", "rate_parse"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
#: DRF's form (``10/min``: the first letter of the unit counts) plus a multiplier (``5/15m``).
_RATE = re.compile(r"^\s*(?P<count>\d+)\s*/\s*(?P<multiplier>\d*)\s*(?P<unit>[smhd])[a-z]*\s*$")


class Rate(NamedTuple):
    limit: int
    seconds: int


def rate_parse(text: str) -> Rate:
    """``"5/15m"`` → ``Rate(limit=5, seconds=900)``; ValueError for anything else (a zero period too)."""
    match = _RATE.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a rate such as 30/h, 5/15m or 120/min")
    seconds = int(match["multiplier"] or 1) * _UNITS[match["unit"]]
    if seconds == 0:
        raise ValueError(f"{text!r}: the period must be longer than zero")
    return Rate(int(match["count"]), seconds)
