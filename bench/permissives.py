"""Permissives: what must be true, measured, before the heat pump may be switched on.

Interlocks (bench/interlocks.py) stop the bench when something goes bad; permissives keep it
from starting into a bad state. Checked right before every command that starts the unit, on
fresh readings taken for that purpose (not the last frame, not what was commanded):

    min_water_flow_m3h        the measured flow is at least this (the hydraulic module's, or
                              the meter a station maps water.flow_m3h to: `FlowSource`)
    require_chamber_responding  the climate chamber answers (its mode is read)

The flow may still be coming up after a water set point: it is read again every
`poll_s` for up to `settle_s` before the permissive is refused.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bench.connect import reason
from instruments.base import InstrumentError, Quality

FLOW_CHANNEL = "volume_flow"  # the hydraulic module's measured flow (bench/run/points.py)


class PermissiveNotMet(InstrumentError):
    """The heat pump was kept off: a permissive does not hold."""


class Permissives(BaseModel):
    """The station's `[permissives]` table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # a conservative floor against a stopped pump; set the unit's minimum from its manual
    min_water_flow_m3h: float = Field(default=0.3, gt=0, le=20)
    require_chamber_responding: bool = True
    settle_s: float = Field(default=60.0, ge=0, le=3600)  # bench seconds for the flow to come
    poll_s: float = Field(default=5.0, gt=0, le=600)


@dataclass(frozen=True)
class FlowSource:
    """Where the water flow is read fresh: the station's flow meter, in the contract's m³/h."""

    instrument: Any
    channel: str = FLOW_CHANNEL
    factor: float = 1.0  # to m³/h (bench/channels.py UNIT_FACTORS)
    what: str = "hydraulic module"


async def _flow(flow: FlowSource) -> tuple[float | None, str]:
    try:
        reading = (await flow.instrument.read()).get(flow.channel)
    except InstrumentError as exc:  # a silent meter is refused at once, not waited for
        raise PermissiveNotMet(
            f"permissive water flow: {flow.what} does not answer: {reason(exc)}"
        ) from None
    if reading is None or reading.quality is not Quality.OK or reading.value is None:
        detail = reading.detail if reading is not None else "no such channel"
        return None, f"water flow not measured: {detail or 'invalid'}"
    return reading.value * flow.factor, ""


async def check_permissives(
    instruments: dict[str, Any],
    p: Permissives,
    sleep: Callable[[float], Awaitable[None]],
    meter: FlowSource | None = None,
) -> None:
    """Return when the heat pump may be switched on; PermissiveNotMet saying why not.
    `meter`: where the flow is measured, None for the hydraulic module's own."""
    if meter is None:
        water = instruments.get("hydraulic_module")
        if water is None:
            raise PermissiveNotMet("permissive water flow: the station has no hydraulic module")
        meter = FlowSource(water)
    waited = 0.0
    while True:
        flow, why = await _flow(meter)
        if flow is not None and flow >= p.min_water_flow_m3h:
            break
        if flow is not None:
            why = f"water flow {flow:.3f} m³/h below the minimum {p.min_water_flow_m3h:g} m³/h"
        if waited >= p.settle_s:
            raise PermissiveNotMet(f"permissive {why}")
        await sleep(p.poll_s)
        waited += p.poll_s
    chamber = instruments.get("climate_chamber")
    if p.require_chamber_responding and chamber is not None:
        try:
            await chamber.read_mode()
        except InstrumentError as exc:
            raise PermissiveNotMet(f"permissive chamber responding: {reason(exc)}") from None
