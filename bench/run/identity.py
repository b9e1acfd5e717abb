"""The unit under test is the one the plan names: its reported serial against the plan's.

Checked once the bench has answered, before anything is set: a station with
`identity_policy = "block"` refuses a run on another unit (its results would certify the
wrong product); "warn" records an `identity` event and goes on. A unit that reports no serial
cannot be checked: a warning under either policy, and result.json says "not reported".
"""

from __future__ import annotations

from collections.abc import Mapping

from bench.station import Station
from instruments.base import Identity

UNIT_ROLE = "heat_pump"


class IdentityRefused(Exception):
    """The station blocks runs on a unit whose serial is not the plan's. str() is one line."""


def check_unit_identity(
    plan_serial: str, station: Station, identities: Mapping[str, Identity]
) -> str | None:
    """A warning line, None when the serials match; raises IdentityRefused when they differ
    and the station blocks."""
    unit = station.layout.command_instruments().get(UNIT_ROLE, UNIT_ROLE)
    reported = identities.get(unit)
    if reported is None or not reported.serial:
        return f"unit identity: the unit reports no serial; the plan's is {plan_serial!r}"
    if reported.serial == plan_serial:  # the same comparison as result.json's serial_check
        return None
    line = (
        f"unit identity: the plan's serial is {plan_serial!r}, the unit reports {reported.serial!r}"
    )
    if station.station.identity_policy == "block":
        raise IdentityRefused(f"{line} (the station blocks such runs: identity_policy)")
    return line
