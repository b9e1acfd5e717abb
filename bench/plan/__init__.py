"""Test plans: YAML data that says which points to run, checked before anything runs.

A plan never touches hardware, so it can be summarised, limit-checked and timed in advance
(`hpbench validate`). `load_plan` returns a `Plan` whose `points` are the flat, resolved list
the sequencer runs.
"""

from bench.plan.errors import PlanError
from bench.plan.estimate import Estimate, estimate
from bench.plan.loader import load_plan, parse_plan
from bench.plan.resolved import (
    FlowFrom,
    FlowSetting,
    InletTemperature,
    PartLoadSetting,
    Plan,
    ResolvedPoint,
    TemperatureDifference,
    Timing,
    VolumeFlow,
)
from bench.plan.validate import validate_command

__all__ = [
    "Estimate",
    "FlowFrom",
    "FlowSetting",
    "InletTemperature",
    "PartLoadSetting",
    "Plan",
    "PlanError",
    "ResolvedPoint",
    "TemperatureDifference",
    "Timing",
    "VolumeFlow",
    "estimate",
    "load_plan",
    "parse_plan",
    "validate_command",
]
