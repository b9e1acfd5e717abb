"""Interlocks: a small named vocabulary of "hold the run while this is bad" (as Bluesky's
suspenders), declared in the station file and checked on every frame.

    above    channel > limit                 e.g. water outlet above 65 °C
    below    channel < limit                 e.g. flow below the unit's minimum
    outside  channel outside [low, high]     e.g. chamber outside its band
    alarm    channel non-zero                e.g. the heat pump's alarm bit
    silent   an instrument without a fresh reading for `after_s`

Each names its action: `hold` (suspend the point; resume once clear for `hold_off_s`),
`safe_stop` (heat pump off, chamber to standby, water to its safe flow; resume likewise) or
`abort`. A channel that is stale or invalid neither trips nor clears a value interlock: the
`silent` kind is what watches for missing data. A value interlock trips on `confirm_frames`
violating frames in a row (the station's `interlock_frames`, default 2: a single flipped status
bit is not an alarm) unless it is declared `immediate = true`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bench.run.frame import Frame
from instruments.base import Quality

Action = Literal["hold", "safe_stop", "abort"]
SEVERITY: dict[str, int] = {"hold": 0, "safe_stop": 1, "abort": 2}


class Interlock(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    kind: Literal["above", "below", "outside", "alarm", "silent"]
    action: Action
    channel: str | None = None  # role.channel, for every kind but silent
    role: str | None = None  # for silent
    limit: float | None = None
    low: float | None = None
    high: float | None = None
    after_s: float | None = Field(default=None, gt=0)
    hold_off_s: float = Field(default=60.0, ge=0)
    immediate: bool = False  # trip on the first violating frame, not on `confirm_frames`

    @model_validator(mode="after")
    def _fields_of_kind(self) -> Interlock:
        need = {
            "above": ("channel", "limit"),
            "below": ("channel", "limit"),
            "outside": ("channel", "low", "high"),
            "alarm": ("channel",),
            "silent": ("role", "after_s"),
        }[self.kind]
        missing = [f for f in need if getattr(self, f) is None]
        if missing:
            raise ValueError(f"a {self.kind!r} interlock needs {', '.join(missing)}")
        if self.kind == "outside" and (self.low or 0.0) >= (self.high or 0.0):
            raise ValueError(f"low {self.low} must be below high {self.high}")
        return self

    def violated(self, frame: Frame, silent_for: dict[str, float]) -> bool | None:
        """True / False, or None when the frame cannot tell (no fresh value)."""
        if self.kind == "silent":
            return silent_for.get(self.role or "", 0.0) >= (self.after_s or 0.0)
        value = frame.value(self.channel or "")
        if value is None:
            return None
        match self.kind:
            case "above":
                return value > (self.limit or 0.0)
            case "below":
                return value < (self.limit or 0.0)
            case "outside":
                return not (self.low or 0.0) <= value <= (self.high or 0.0)
            case _:  # alarm
                return value != 0.0

    def describe(self) -> str:
        match self.kind:
            case "above":
                return f"{self.channel} above {self.limit:g}"
            case "below":
                return f"{self.channel} below {self.limit:g}"
            case "outside":
                return f"{self.channel} outside [{self.low:g}, {self.high:g}]"
            case "alarm":
                return f"{self.channel} in alarm"
            case _:
                return f"{self.role} silent for {self.after_s:g} s"


@dataclass(frozen=True)
class Change:
    interlock: Interlock
    tripped: bool  # True: tripped now; False: cleared (after its hold-off)
    t: float


@dataclass
class _State:
    tripped: bool = False
    clear_since: float | None = None
    violations: int = 0  # frames in a row that violated it


@dataclass
class Interlocks:
    """Evaluates every interlock on each frame; remembers which are tripped."""

    items: list[Interlock]
    confirm_frames: int = 2  # a value interlock trips on this many violating frames in a row
    _state: dict[str, _State] = field(default_factory=dict)
    _last_fresh: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._state = {i.name: _State() for i in self.items}

    def check(self, frame: Frame) -> list[Change]:
        t = frame.t
        silent_for = self._silence(frame)
        changes = []
        for lock in self.items:
            state = self._state[lock.name]
            violated = lock.violated(frame, silent_for)
            if violated is None:
                continue
            state.violations = state.violations + 1 if violated else 0
            if violated:
                state.clear_since = None
                needed = 1 if lock.immediate or lock.kind == "silent" else self.confirm_frames
                if not state.tripped and state.violations >= needed:
                    state.tripped = True
                    changes.append(Change(lock, True, t))
            elif state.tripped:
                state.clear_since = state.clear_since if state.clear_since is not None else t
                if t - state.clear_since >= lock.hold_off_s:
                    state.tripped, state.clear_since = False, None
                    changes.append(Change(lock, False, t))
        return changes

    def _silence(self, frame: Frame) -> dict[str, float]:
        """Seconds since each role last gave at least one fresh (OK or INVALID) reading."""
        fresh: set[str] = set()
        for channel, reading in frame.readings.items():
            if reading.quality is not Quality.STALE:
                fresh.add(channel.split(".", 1)[0])
        roles = {c.split(".", 1)[0] for c in frame.readings}
        for role in roles:
            if role in fresh or role not in self._last_fresh:
                self._last_fresh[role] = frame.t
        return {role: frame.t - since for role, since in self._last_fresh.items()}

    def tripped(self) -> list[Interlock]:
        return [i for i in self.items if self._state[i.name].tripped]

    def worst_action(self) -> Action | None:
        active = self.tripped()
        if not active:
            return None
        return max((i.action for i in active), key=SEVERITY.__getitem__)


def declared_line(text: str, index: int, key: str) -> int:
    """The line (1-based) of `key` in the `index`-th `[[interlocks]]` table of a station file
    (its header line when the key is not written there; 1 if there is no such table)."""
    lines = text.splitlines()
    headers = [n for n, line in enumerate(lines, 1) if line.strip() == "[[interlocks]]"]
    if index >= len(headers):
        return 1
    for n in range(headers[index], len(lines)):
        line = lines[n].strip()
        if line.startswith("["):
            break
        if line.split("=", 1)[0].strip() == key:
            return n + 1
    return headers[index]
