"""The open bench: a station's drivers (not yet connected) and the bench clock, made by the
same functions as `hpbench run`'s (`bench/run/runner.py`): from a station file (the TUI,
`probe`) or from a prepared run (`hpbench run`, whose station a resume reads from its store)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.run.actuation import commanded
from bench.run.runner import Prepared, bench_clock, read_station, station_instruments
from bench.station import Station
from instruments.base import Instrument
from instruments.clock import Clock

if TYPE_CHECKING:
    from instruments.sim.bench import SimBenchThread


@dataclass
class Bench:
    """The station and its drivers (not yet connected), and the bench clock."""

    station: Station
    station_text: str
    station_path: Path | None  # None: the simulated bench's shipped station file
    instruments: dict[str, Instrument]
    clock: Clock
    sim: bool
    speed: float
    simulator: Any = None  # the SimBenchThread with `sim` (tests inject faults through it)

    @property
    def commands(self) -> dict[str, str]:
        """Role -> the name of the instrument commanding it."""
        return self.station.layout.command_instruments()

    @property
    def commanded(self) -> dict[str, Instrument]:
        """Role -> the instrument commanding it (set points, safe state, permissives)."""
        return commanded(self.instruments, self.commands)


@contextlib.contextmanager
def open_bench(station_path: Path | None, *, sim: bool, speed: float) -> Iterator[Bench]:
    """The station's drivers; with `sim`, on a simulated bench started on its own thread.

    Raises StationError for a bad or unreadable station file."""
    station, text = read_station(station_path, sim=sim)
    with _opened(station, text, station_path, sim, speed) as bench:
        yield bench


@contextlib.contextmanager
def prepared_bench(prepared: Prepared, station_path: Path | None) -> Iterator[Bench]:
    """The bench of a prepared run, with its station as the run records it, at its speed."""
    with _opened(
        prepared.station, prepared.station_text, station_path, prepared.sim, prepared.speed
    ) as bench:
        yield bench


@contextlib.contextmanager
def _opened(
    station: Station, text: str, station_path: Path | None, sim: bool, speed: float
) -> Iterator[Bench]:
    clock = bench_clock(speed)
    simulators: list[SimBenchThread] = []
    with station_instruments(station, clock, sim=sim, on_sim=simulators.append) as instruments:
        simulator = simulators[0] if simulators else None
        yield Bench(station, text, station_path, instruments, clock, sim, speed, simulator)
