"""The open bench and the one object that owns it (docs/decisions/0200-bench-controller.md)."""

from bench.controller.bench import Bench, open_bench, prepared_bench
from bench.controller.controller import BenchController, CommandFailed, PointResult
from bench.controller.setpoints import (
    Limit,
    SetpointPair,
    command_channel,
    setpoint_limits,
    setpoint_pairs,
)

__all__ = [
    "Bench",
    "BenchController",
    "CommandFailed",
    "Limit",
    "PointResult",
    "SetpointPair",
    "command_channel",
    "open_bench",
    "prepared_bench",
    "setpoint_limits",
    "setpoint_pairs",
]
