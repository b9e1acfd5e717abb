"""What the result files need from the station file and from the EN 14825 defaults file.

The station file as run is in `run.sqlite`, so a report made later uses the bench as it was,
not as it is now. It is parsed as `hpbench run` parses it (`bench.station.parse_station`), and
the point calculation's settings (pump correction, accuracies: `Station.point_settings`) are
the ones the engine computed the live record with.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from bench.metrology.parts import power_inputs
from bench.metrology.point import PointSettings
from bench.metrology.uncertainty import Accuracies
from bench.station import Station, StationError, parse_station

DEFAULTS_RESOURCE = "en14825_defaults.toml"


class ExportError(Exception):
    """A run cannot be exported; str() names the run directory or file and the reason."""


@dataclass(frozen=True, kw_only=True)
class BenchSettings(PointSettings):
    """The station as run, and what the point calculation takes from it."""

    station: Station


def bench_settings(station_text: str, where: str) -> BenchSettings:
    """Parse the station text stored with a run; ExportError if it is not a valid station."""
    try:
        station = parse_station(station_text, where)
    except StationError as exc:
        raise ExportError(f"{where}: the stored station file is not valid:\n{exc}") from None
    calc = station.point_settings()
    fields = {f.name: getattr(calc, f.name) for f in dataclasses.fields(calc)}
    return BenchSettings(station=station, **fields)


def accuracy_summary(acc: Accuracies) -> dict[str, float]:
    """The standard uncertainties and limits the propagation used, for the result file."""
    power, power_drift = power_inputs(acc.power_parts)
    return {
        "u_t_in_k": acc.u_t_in_k,
        "u_t_out_k": acc.u_t_out_k,
        "r_t": acc.r_t,
        "flow_pct_reading": acc.flow_pct_reading,
        "flow_divisor": acc.flow_divisor,
        **power,
        "rho_cp_pct": acc.rho_cp_pct,
        "u_t_drift_k": acc.u_t_drift_k,
        "u_flow_drift_rel": acc.u_flow_drift_rel,
        **power_drift,
        "u_rho_rel": acc.u_rho_rel,
        "u_cp_rel": acc.u_cp_rel,
        "u_heat_loss_w": acc.u_heat_loss_w,
        "phi_per_k_outlet": acc.phi_per_k_outlet,
        "phi_per_k_air": acc.phi_per_k_air,
        "p_per_k_outlet": acc.p_per_k_outlet,
        "p_per_k_air": acc.p_per_k_air,
    }


@dataclass(frozen=True)
class Tagged:
    value: float
    source: str


@dataclass(frozen=True)
class En14825Defaults:
    """Values the SCOP block uses when the plan does not give them: each with its source."""

    name: str
    version: str
    cdh: Tagged


@cache
def en14825_defaults() -> En14825Defaults:
    """The shipped `bench/export/en14825_defaults.toml` (a settings file, not constants)."""
    text = resources.files("bench.export").joinpath(DEFAULTS_RESOURCE).read_text("utf-8")
    raw = tomllib.loads(text)

    def tagged(item: dict[str, Any]) -> Tagged:
        return Tagged(float(item["value"]), str(item["source"]))

    return En14825Defaults(
        name=str(raw["name"]),
        version=str(raw["version"]),
        cdh=tagged(raw["cdh"]),
    )
