"""The state the screens draw from, refreshed from the session at most ~10 times a second.

The app drains the session's frame and event buses on a timer (`pull`): every frame goes into
the plot history, only the newest is shown (frames between two paints are coalesced), events
are kept in a bounded log. Widgets never touch the engine; they read this.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from bench.run.bus import Subscription
from bench.run.engine import Engine, Event, Status
from bench.run.frame import Frame
from bench.run.sequencer import Phase, PointState
from bench.tui.history import History

MAX_EVENTS = 500

# what each controlled quantity is called on screen, and the unit of its set value
QUANTITIES: dict[str, tuple[str, str]] = {
    "air_dry_bulb": ("air dry bulb", "°C"),
    "air_wet_bulb": ("air wet bulb", "°C"),
    "water_inlet": ("water inlet", "°C"),
    "water_outlet": ("water outlet", "°C"),
    "water_flow": ("water flow", "m³/h"),
    "supply_voltage": ("supply voltage", "V"),
}


@dataclass(frozen=True)
class Gauge:
    """One controlled quantity now: its deviation against the profile's two limits."""

    name: str
    set_value: float
    unit: str  # of the set value
    deviation: float | None  # latest individual deviation, in `dev_unit`
    mean: float | None  # mean deviation over the collection window so far
    individual_limit: float
    mean_limit: float
    dev_unit: str  # K or %

    @property
    def label(self) -> str:
        return QUANTITIES.get(self.name, (self.name, ""))[0]

    @property
    def actual(self) -> float | None:
        if self.deviation is None:
            return None
        if self.dev_unit == "%":
            return self.set_value * (1 + self.deviation / 100.0)
        return self.set_value + self.deviation

    @property
    def verdict(self) -> str:
        """`missing`, `individual` (beyond its individual limit), `mean`, or `ok`."""
        if self.deviation is None:
            return "missing"
        if abs(self.deviation) > self.individual_limit:
            return "individual"
        if self.mean is not None and abs(self.mean) > self.mean_limit:
            return "mean"
        return "ok"


def gauges(point: PointState | None, phase: Phase) -> tuple[Gauge, ...]:
    """The judge of the point in progress, as gauges; empty between points."""
    if point is None or not point.judge.times:
        return ()
    judge, spec = point.judge, point.spec
    start = point.collect_from
    if phase != Phase.COLLECTING or start is None:
        start = judge.times[-1] - spec.collection_s  # the window the mean will be judged on
    lo = bisect.bisect_left(judge.times, start)
    out = []
    for q in judge.quantities:
        devs = judge.deviations[q.name]
        now = devs[-1] if devs else math.nan
        window = [d for d in devs[lo:] if not math.isnan(d)]
        out.append(
            Gauge(
                name=q.name,
                set_value=q.set_value,
                unit=QUANTITIES.get(q.name, ("", q.tolerance.unit))[1],
                deviation=None if math.isnan(now) else now,
                mean=math.fsum(window) / len(window) if window else None,
                individual_limit=q.tolerance.individual,
                mean_limit=q.tolerance.mean,
                dev_unit=q.tolerance.unit,
            )
        )
    return tuple(out)


def phase_progress(point: PointState | None, phase: Phase) -> tuple[float, float] | None:
    """(done, needed) seconds of the current phase where it has a length: the equilibrium held
    so far, or the collection period recorded so far."""
    if point is None or not point.judge.times:
        return None
    now = point.judge.times[-1]
    if phase == Phase.EQUILIBRIUM:
        return point.judge.held_for(now), point.spec.equilibrium_s
    if phase == Phase.COLLECTING and point.collect_from is not None:
        return now - point.collect_from, point.spec.collection_s
    return None


class Alerts:
    """What the header warns about: alarms, safety refusals, tripped interlocks and holds,
    each with its reason. An alert stays until it is acknowledged *and* no longer active (an
    interlock cleared, the hold released); alarms are one-off, so acknowledging clears them."""

    def __init__(self) -> None:
        self.events: dict[str, Event] = {}  # key -> the event that raised it
        self.active: set[str] = set()
        self.acknowledged: set[str] = set()

    def note(self, event: Event) -> bool:
        """Take one event; True when what the header shows may have changed."""
        key, active = _alert_key(event)
        if key is None:
            return False
        if active is False:  # an interlock cleared, a hold released
            self.active.discard(key)
            if key in self.acknowledged:
                self._drop(key)
            return True
        self.events[key] = event
        self.acknowledged.discard(key)
        if active:
            self.active.add(key)
        return True

    def acknowledge(self) -> int:
        """The operator has seen them all: inactive ones go, active ones stay until cleared."""
        count = len(self.events)
        for key in list(self.events):
            if key in self.active:
                self.acknowledged.add(key)
            else:
                self._drop(key)
        return count

    def _drop(self, key: str) -> None:
        self.events.pop(key, None)
        self.acknowledged.discard(key)
        self.active.discard(key)

    def shown(self) -> tuple[Event | None, int]:
        """The newest unacknowledged alert (else the newest still active), and how many."""
        fresh = [e for k, e in self.events.items() if k not in self.acknowledged]
        pool = fresh or list(self.events.values())
        return (max(pool, key=lambda e: e.t) if pool else None), len(self.events)


def _alert_key(event: Event) -> tuple[str | None, bool | None]:
    """(key, True: active condition / None: one-off / False: a condition ended)."""
    if event.kind in ("alarm", "safety"):
        return event.kind, None
    if event.kind == "interlock" and "interlock" in event.data:
        return f"interlock:{event.data['interlock']}", bool(event.data.get("tripped"))
    if event.kind == "state":
        if event.data.get("to") == "held":
            return "hold", True
        if event.data.get("from") == "held":
            return "hold", False
    return None, None


class LiveState:
    def __init__(self, history: History, max_events: int = MAX_EVENTS) -> None:
        self.history = history
        self.frame: Frame | None = None
        self.status: Status | None = None
        self.events: deque[tuple[int, Event]] = deque(maxlen=max_events)
        self.event_count = 0
        self.gauges: tuple[Gauge, ...] = ()
        self.phase_progress: tuple[float, float] | None = None
        self.building: str | None = None  # the load-based point's building, one line
        self.alerts = Alerts()
        self._judged = (-1, 0)  # (id of the judge, samples) the gauges were computed for

    def pull(
        self,
        frames: Subscription[Frame],
        events: Subscription[Event],
        status: Status,
        engine: Engine | None,
        first: Frame | None = None,
    ) -> bool:
        """Take what arrived since the last call (`first`: a frame already taken off the
        subscription); True when anything changed."""
        changed = self._take_frames([first, *_drain(frames)] if first else _drain(frames))
        for event in _drain(events):
            self.event_count += 1
            self.events.append((self.event_count, event))
            self.alerts.note(event)
            changed = True
        if status != self.status:
            self.status, changed = status, True
        building = engine.emulation.summary() if engine is not None else None
        if building != self.building:
            self.building, changed = building, True
        point = engine.point if engine is not None else None
        judged = (id(point.judge), len(point.judge.times)) if point is not None else (-1, 0)
        if judged != self._judged:
            self._judged = judged
            assert status is not None
            self.gauges = gauges(point, status.phase)
            self.phase_progress = phase_progress(point, status.phase)
            changed = True
        return changed

    def _take_frames(self, frames: Iterable[Frame]) -> bool:
        changed = False
        for frame in frames:
            self.history.add(frame)
            self.frame, changed = frame, True
        return changed

    @property
    def last_alarm(self) -> Event | None:
        """What the header shows: the alert to look at (see `Alerts`)."""
        return self.alerts.shown()[0]

    def events_after(self, n: int) -> list[tuple[int, Event]]:
        """Events numbered above `n` that are still kept."""
        return [(i, e) for i, e in self.events if i > n]


def _drain(sub: Subscription[object]) -> list:  # type: ignore[type-arg]
    out = []
    while not sub.queue.empty():
        out.append(sub.queue.get_nowait())
    return out
