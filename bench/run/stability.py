"""Steady-state judgement: deviations of every controlled quantity from its set value.

Two limits apply to each quantity, as in EN 14511-3 (docs/standards.md §2): every individual reading
must stay within the individual limit, and the mean over the period within the mean limit. The
`Judge` keeps the deviations of one point; it answers "has everything been in tolerance since
when?" for the equilibrium phase, and gives the per-quantity record of a collection period.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Tolerance:
    mean: float  # limit on |mean deviation|
    individual: float  # limit on every |individual deviation|
    relative: bool = False  # True: limits in % of the set value
    unit: str = "K"


@dataclass(frozen=True)
class Controlled:
    """A quantity the bench holds: its set value and the tolerance it is judged by."""

    name: str
    set_value: float
    tolerance: Tolerance

    def deviation(self, measured: float) -> float:
        if self.tolerance.relative:
            return (measured - self.set_value) / self.set_value * 100.0
        return measured - self.set_value


@dataclass
class QuantityRecord:
    """What a point's record says of one quantity over a period."""

    name: str
    set_value: float
    unit: str
    max_individual_deviation: float | None
    mean_deviation: float | None
    individual_limit: float
    mean_limit: float
    samples: int
    missing: int

    @property
    def ok(self) -> bool:
        return (
            self.samples > 0
            and self.max_individual_deviation is not None
            and self.mean_deviation is not None
            and abs(self.max_individual_deviation) <= self.individual_limit
            and abs(self.mean_deviation) <= self.mean_limit
        )

    def reason(self) -> str:
        if self.samples == 0:
            return f"{self.name}: no valid reading"
        if abs(self.max_individual_deviation or 0.0) > self.individual_limit:
            return (
                f"{self.name}: individual deviation {self.max_individual_deviation:+.3g} "
                f"{self.unit} beyond ±{self.individual_limit:g} {self.unit}"
            )
        return (
            f"{self.name}: mean deviation {self.mean_deviation:+.3g} {self.unit} "
            f"beyond ±{self.mean_limit:g} {self.unit}"
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "set_value": self.set_value,
            "unit": self.unit,
            "max_individual_deviation": self.max_individual_deviation,
            "mean_deviation": self.mean_deviation,
            "individual_limit": self.individual_limit,
            "mean_limit": self.mean_limit,
            "samples": self.samples,
            "missing": self.missing,
            "ok": self.ok,
        }


@dataclass
class Judge:
    quantities: list[Controlled]
    times: list[float] = field(default_factory=list)
    deviations: dict[str, list[float]] = field(default_factory=dict)  # NaN where missing
    defrost_flags: list[bool] = field(default_factory=list)
    in_tolerance_since: float | None = None
    last_out: str = ""  # why the latest sample was out of tolerance
    # a reading missing for up to this long (since the last complete sample) is neither in nor
    # out of tolerance: no evidence either way (a load-based warm-up, decision 0150)
    stale_grace_s: float | None = None
    last_complete: float | None = None  # time of the last sample with every reading

    def __post_init__(self) -> None:
        self.deviations = {q.name: [] for q in self.quantities}

    def add(
        self,
        t: float,
        measured: dict[str, float | None],
        *,
        defrost: bool = False,
        excused: bool = False,
    ) -> bool:
        """Record one sample; True when every quantity is within its individual limit.

        An `excused` sample (a transient test's defrost and the minutes after it) is recorded
        but neither breaks nor starts a period in tolerance."""
        self.times.append(t)
        self.defrost_flags.append(defrost)
        inside, missing, reasons = True, False, []
        for q in self.quantities:
            value = measured.get(q.name)
            dev = math.nan if value is None else q.deviation(value)
            self.deviations[q.name].append(dev)
            if math.isnan(dev):
                missing = True
                reasons.append(f"{q.name}: no valid reading")
            elif abs(dev) > q.tolerance.individual:
                inside = False
                reasons.append(
                    f"{q.name} {dev:+.3g} {q.tolerance.unit} (±{q.tolerance.individual:g})"
                )
        if not missing:
            self.last_complete = t
        elif inside and self._stale_excused(t):
            excused = True
        else:
            inside = False
        if excused:
            return self.in_tolerance_since is not None
        if inside:
            if self.in_tolerance_since is None:
                self.in_tolerance_since = t
            self.last_out = ""
        else:
            self.in_tolerance_since = None
            self.last_out = "; ".join(reasons)
        return inside

    def _stale_excused(self, t: float) -> bool:
        """Readings missing, none out: within the grace since the last complete sample."""
        return (
            self.stale_grace_s is not None
            and self.last_complete is not None
            and t - self.last_complete <= self.stale_grace_s
        )

    def held_for(self, now: float) -> float:
        """Seconds everything has been continuously within its individual limits."""
        return 0.0 if self.in_tolerance_since is None else now - self.in_tolerance_since

    def _index_from(self, t_from: float) -> int:
        for i, t in enumerate(self.times):
            if t >= t_from:
                return i
        return len(self.times)

    def records(
        self,
        t_from: float,
        t_to: float | None = None,
        *,
        exclude: list[tuple[float, float]] | None = None,
    ) -> dict[str, QuantityRecord]:
        """Per-quantity record over the samples in [t_from, t_to], minus `exclude` windows."""
        lo = self._index_from(t_from)
        hi = len(self.times) if t_to is None else self._index_from(math.nextafter(t_to, math.inf))
        keep = [
            i for i in range(lo, hi) if not any(a <= self.times[i] < b for a, b in exclude or ())
        ]
        out = {}
        for q in self.quantities:
            window = [self.deviations[q.name][i] for i in keep]
            valid = [d for d in window if not math.isnan(d)]
            out[q.name] = QuantityRecord(
                name=q.name,
                set_value=q.set_value,
                unit=q.tolerance.unit,
                max_individual_deviation=max(valid, key=abs) if valid else None,
                mean_deviation=sum(valid) / len(valid) if valid else None,
                individual_limit=q.tolerance.individual,
                mean_limit=q.tolerance.mean,
                samples=len(valid),
                missing=len(window) - len(valid),
            )
        return out

    def means_ok(self, t_from: float) -> bool:
        return all(r.ok for r in self.records(t_from).values())


@dataclass
class GapMeter:
    """Sampling gaps of a collection: the time between consecutive *usable* frames (all the
    result's inputs read OK), fed frame by frame; the exporter replays the same frames.

    A frame whose inputs did not read (an instrument silent, a link down) counts with its full
    interval: that is a gap in the data. With `excuse_skipped_s` (the simulated bench under
    time-warp only) an interval longer than that period counts as one period: the host could
    not keep up with the warped clock and skipped acquisition periods, which on a real bench
    at speed 1 does not happen that way, so it is not held against the unit.
    """

    limit_s: float
    excuse_skipped_s: float | None = None
    running_s: float = 0.0  # time since the last usable frame
    last_t: float | None = None

    def add(self, t: float, usable: bool) -> float | None:
        """For a usable frame, the (counted) time since the last usable one; else None."""
        if self.last_t is not None:
            step = t - self.last_t
            if self.excuse_skipped_s is not None:
                step = min(step, self.excuse_skipped_s)
            self.running_s += step
        self.last_t = t
        if not usable:
            return None
        gap, self.running_s = self.running_s, 0.0
        return gap

    def over(self, gap: float | None) -> bool:
        return gap is not None and gap > self.limit_s
