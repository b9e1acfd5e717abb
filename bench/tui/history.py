"""What the live plots draw: a few derived series per frame, kept at bounded resolution.

A 12-hour window of 10 Hz frames is 432,000 samples; a plot is at most a few hundred columns
wide. So each selectable window keeps its own `Level`: samples averaged into buckets of
window / `POINTS` seconds, at most `POINTS` of them. Memory is fixed by the number of windows,
never by how long the app runs.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from bench.metrology.capacity import heating_capacity
from bench.run.frame import Frame
from bench.run.points import AIR_T, HP_DEFROST, POWER, WATER_FLOW, WATER_IN, WATER_OUT
from bench.run.results import WaterSide

SERIES = ("air", "water_in", "water_out", "power", "capacity", "cop", "delta_t")
UNIT_ON_W = 50.0  # below this electrical power the unit is off: no capacity, no COP
WINDOWS_S = (600.0, 3600.0, 4 * 3600.0, 12 * 3600.0)
POINTS = 600


def window_label(seconds: float) -> str:
    return f"{seconds / 3600:.3g} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"


def derive(frame: Frame, water: WaterSide) -> tuple[float, ...]:
    """One value per series (NaN where a channel is not OK). Capacity and COP only while the
    unit heats: with the unit off or defrosting the water side's heat is not the unit's output
    (the issue's -2885 W and negative COP), so they are left as gaps."""
    nan = math.nan
    air, t_in, t_out = frame.value(AIR_T), frame.value(WATER_IN), frame.value(WATER_OUT)
    flow, power = frame.value(WATER_FLOW), frame.value(POWER)
    capacity = cop = delta_t = nan
    if t_in is not None and t_out is not None:
        delta_t = t_out - t_in
    heating = power is not None and power > UNIT_ON_W and (frame.value(HP_DEFROST) or 0) < 0.5
    if heating and flow is not None and t_in is not None and t_out is not None and flow >= 0:
        try:
            capacity = heating_capacity(
                flow,
                t_in,
                t_out,
                p_pa=water.pressure_pa,
                meter=water.meter,
            )
        except ValueError:  # outside the water tables (a sensor gone wild): leave a gap
            capacity = nan
        if power is not None and math.isfinite(capacity):
            cop = capacity / power
    values = (air, t_in, t_out, power, capacity, cop, delta_t)
    return tuple(nan if v is None else v for v in values)


@dataclass
class Level:
    """Bucket means of every series at one resolution."""

    resolution_s: float
    capacity: int = POINTS
    times: deque[float] = field(init=False)
    values: deque[tuple[float, ...]] = field(init=False)
    _start: float | None = None
    _sums: list[float] = field(default_factory=lambda: [0.0] * len(SERIES))
    _counts: list[int] = field(default_factory=lambda: [0] * len(SERIES))
    _t_sum: float = 0.0
    _n: int = 0

    def __post_init__(self) -> None:
        self.times = deque(maxlen=self.capacity)
        self.values = deque(maxlen=self.capacity)

    def add(self, t: float, values: tuple[float, ...]) -> None:
        if self._start is not None and t >= self._start + self.resolution_s:
            self._close()
        if self._start is None:
            self._start = t
        self._t_sum += t
        self._n += 1
        for i, v in enumerate(values):
            if not math.isnan(v):
                self._sums[i] += v
                self._counts[i] += 1

    def _bucket(self) -> tuple[float, tuple[float, ...]]:
        means = tuple(
            s / c if c else math.nan for s, c in zip(self._sums, self._counts, strict=True)
        )
        return self._t_sum / self._n, means

    def _close(self) -> None:
        t, means = self._bucket()
        self.times.append(t)
        self.values.append(means)
        self._start = None
        self._t_sum, self._n = 0.0, 0
        self._sums = [0.0] * len(SERIES)
        self._counts = [0] * len(SERIES)

    def points(self) -> tuple[list[float], list[tuple[float, ...]]]:
        """Closed buckets plus the one being filled."""
        times, values = list(self.times), list(self.values)
        if self._n:
            t, means = self._bucket()
            times.append(t)
            values.append(means)
        return times, values


class History:
    """One `Level` per window; `series(window)` gives what a plot of that window shows."""

    def __init__(
        self, windows: Iterable[float] = WINDOWS_S, water: WaterSide | None = None
    ) -> None:
        self.windows = tuple(windows)
        self.water = water or WaterSide()
        self.levels = {w: Level(w / POINTS, capacity=POINTS + 2) for w in self.windows}
        self.last_t: float | None = None
        self.first_t: float | None = None
        self.version = 0  # bumped on every add: plots redraw only when it moved
        self.latest: tuple[Frame, tuple[float, ...]] | None = None

    @classmethod
    def spanning(cls, first_t: float, last_t: float, water: WaterSide | None = None) -> History:
        """A single window that holds a whole recorded run (for replay)."""
        return cls((max(60.0, last_t - first_t),), water)

    def add(self, frame: Frame) -> None:
        values = derive(frame, self.water)
        self.latest = (frame, values)  # the Live tab's performance panel shows these
        for level in self.levels.values():
            level.add(frame.t, values)
        self.first_t = frame.t if self.first_t is None else self.first_t
        self.last_t = frame.t
        self.version += 1

    def series(self, window: float) -> tuple[list[float], dict[str, list[float]]]:
        """Bench times (epoch seconds) within the window back from the newest sample, and each
        series' values."""
        times, values = self.levels[window].points()
        if not times or self.last_t is None:
            return [], {name: [] for name in SERIES}
        cut = self.last_t - window
        keep = [i for i, t in enumerate(times) if t >= cut]
        xs = [times[i] for i in keep]
        columns = {name: [values[i][k] for i in keep] for k, name in enumerate(SERIES)}
        return xs, columns
