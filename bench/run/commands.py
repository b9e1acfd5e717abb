"""What the sequencer asks of the bench. The engine carries these out on the instruments.

The sequencer itself never touches hardware: it turns frames and operator actions into these
commands, so every transition can be tested without a bench (Bluesky's plans-as-messages idea).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SetAir:
    temperature_c: float
    humidity_pct: float | None


@dataclass(frozen=True)
class SetWater:
    inlet_c: float
    flow_m3h: float


@dataclass(frozen=True)
class SetHeatPump:
    running: bool
    flow_temperature_c: float | None = None
    demand_pct: float | None = None  # None: the unit follows its flow-temperature set point


@dataclass(frozen=True)
class SafeState:
    """Heat pump off; chamber and water as the station's safe state (or, at the end of a
    plan, its final state) says."""

    reason: str
    final: bool = False


@dataclass(frozen=True)
class EmulateBuilding:
    """A load-based point (docs/standards.md §7): the unit to its own controls, and the bench
    commanding the return temperature of a virtual building every step until the point ends.
    `point` is the run's PointSpec (bench.run.points), whose `load_based` sizes the building."""

    point: object


Command = SetAir | SetWater | SetHeatPump | SafeState | EmulateBuilding
