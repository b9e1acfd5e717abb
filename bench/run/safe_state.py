"""The bench's safe state as a confirmed procedure, not a fire-and-forget write.

Order: the heat pump off first (it is what can damage itself or the loop), then the water and
the chamber to the station's safe values, in parallel. Each step is commanded, then read back
from the instrument (the unit's on/off register, the water module's flow set point or pump
command, the chamber's mode); only a read-back that shows the commanded value confirms it.
An unconfirmed step is commanded again after a back-off (half a period, one, two...), up to
`attempts` times, each attempt bounded by `ATTEMPT_TIMEOUT_S` so a silent instrument cannot
stall the procedure. What stays unconfirmed is returned, never swallowed: the caller raises an
alarm and the run's outcome becomes `unsafe` (docs/decisions/0110-confirmed-safe-state.md).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bench.connect import reason
from bench.station import BenchState
from instruments.base import Instrument, InstrumentError

ATTEMPTS = 4
ESCALATION_MAX_PERIODS = 4  # an unconfirmed safe state is tried again at least this often
ATTEMPT_TIMEOUT_S = 10.0  # wall seconds for one command + read-back, past every driver timeout
FLOW_TOLERANCE_M3H = 0.01  # a flow set point read back within this is the one written
HEAT_PUMP = "heat_pump"

Sleep = Callable[[float], Awaitable[None]]
OnError = Callable[[str, str], None]  # (role, why) of one failed attempt


class NotConfirmed(Exception):
    """The read-back does not show what was commanded."""


@dataclass
class SafeStateReport:
    """How the procedure went; `unconfirmed` maps role -> the last reason it was not."""

    attempts: dict[str, int] = field(default_factory=dict)
    unconfirmed: dict[str, str] = field(default_factory=dict)
    heat_pump_done_at: float | None = None  # the caller's clock, when the heat pump step ended

    @property
    def confirmed(self) -> bool:
        return not self.unconfirmed

    @property
    def heat_pump_off(self) -> bool:
        return HEAT_PUMP not in self.unconfirmed

    def describe(self) -> str:
        return "; ".join(f"{role}: {why}" for role, why in self.unconfirmed.items())


def _close(a: float | None, b: float | None, tol: float) -> bool:
    return a is not None and b is not None and math.isclose(a, b, abs_tol=tol)


async def _heat_pump_off(hp: Any) -> None:
    await hp.set_running(False)
    await _expect(hp, "running", hp.command_value("running", False), 0.0)


async def _expect(inst: Any, command: str, wanted: float | None, tol: float) -> None:
    if not hasattr(inst, "read_command"):
        raise NotConfirmed("the driver cannot read its command back")
    got = (await inst.read_command(command)).value
    if not _close(got, wanted, tol):
        raise NotConfirmed(f"{command} reads back {got!r}, commanded {wanted!r}")


def _water(state: BenchState) -> Callable[[Any], Awaitable[None]]:
    async def flow(hm: Any) -> None:
        await hm.set_running(True)
        await hm.set_flow(state.water_flow_m3h)
        await _expect(hm, "running", hm.command_value("running", True), 0.0)
        await _expect(hm, "flow", state.water_flow_m3h, FLOW_TOLERANCE_M3H)

    async def stop(hm: Any) -> None:
        await hm.set_running(False)
        await _expect(hm, "running", hm.command_value("running", False), 0.0)

    return flow if state.water_pump == "on" else stop


def _chamber(state: BenchState) -> Callable[[Any], Awaitable[None]]:
    async def mode(ch: Any) -> None:
        await ch.set_mode(state.chamber)
        got = await ch.read_mode()
        if got.strip().lower() != state.chamber:
            raise NotConfirmed(f"mode reads back {got!r}, commanded {state.chamber!r}")

    return mode


async def _confirm(
    role: str,
    inst: Any,
    step: Callable[[Any], Awaitable[None]],
    report: SafeStateReport,
    *,
    attempts: int,
    backoff_s: float,
    sleep: Sleep,
    on_error: OnError,
) -> None:
    for attempt in range(1, attempts + 1):
        report.attempts[role] = attempt
        try:
            async with asyncio.timeout(ATTEMPT_TIMEOUT_S):
                await step(inst)
        except (InstrumentError, NotConfirmed, TimeoutError) as exc:
            why = "no answer" if isinstance(exc, TimeoutError) else reason(exc)
            report.unconfirmed[role] = why
            on_error(role, f"{why} (attempt {attempt} of {attempts})")
            if attempt < attempts:
                await sleep(backoff_s * 2 ** (attempt - 1))
            continue
        report.unconfirmed.pop(role, None)
        return


async def reach_safe_state(
    instruments: dict[str, Instrument],
    state: BenchState,
    *,
    on_error: OnError,
    sleep: Sleep = asyncio.sleep,
    now: Callable[[], float] | None = None,
    backoff_s: float = 0.5,
    attempts: int = ATTEMPTS,
) -> SafeStateReport:
    """Heat pump off and confirmed, then water and chamber confirmed (both always tried).
    `sleep`, `now` and `backoff_s` are the caller's clock and half an acquisition period."""
    report = SafeStateReport()
    kw: dict[str, Any] = dict(
        attempts=attempts, backoff_s=backoff_s, sleep=sleep, on_error=on_error
    )
    if HEAT_PUMP in instruments:
        await _confirm(HEAT_PUMP, instruments[HEAT_PUMP], _heat_pump_off, report, **kw)
    else:
        report.unconfirmed[HEAT_PUMP] = "the station has no heat pump to switch off"
    report.heat_pump_done_at = (now or asyncio.get_running_loop().time)()
    steps = [("hydraulic_module", _water(state)), ("climate_chamber", _chamber(state))]
    await asyncio.gather(
        *(_confirm(r, instruments[r], s, report, **kw) for r, s in steps if r in instruments)
    )
    return report


def reached_event(
    report: SafeStateReport, t_trip: float, why: str, period_s: float
) -> tuple[str, dict[str, Any]]:
    """The `safety` event of a safe stop: how long after `t_trip` the heat pump was confirmed
    off, in seconds and acquisition periods (decision 0011 allows two)."""
    t_hp = report.heat_pump_done_at if report.heat_pump_done_at is not None else t_trip
    latency = t_hp - t_trip
    periods = latency / period_s
    reached = report.heat_pump_off
    data = {"latency_s": latency, "periods": periods, "reason": why, "reached": reached}
    if reached:
        return f"safe state reached {latency:.2f} s ({periods:.2f} periods) after: {why}", data
    return (
        f"safe state NOT confirmed (heat pump: {report.unconfirmed[HEAT_PUMP]}) after: {why}",
        data,
    )


Events = list[tuple[str, str, dict[str, Any]]]  # (kind, message, data)


def settle(
    report: SafeStateReport, why: str, confirm_s: float, period_s: float, unsafe: str | None
) -> tuple[str | None, Events]:
    """After a procedure: why the bench is unsafe now (None: confirmed safe), given why it was
    (`unsafe`), and the events that say so - an unconfirmed state is an alarm kept active."""
    data = {
        "procedure": why,
        "confirmed": report.confirmed,
        "confirm_s": confirm_s,
        "confirm_periods": confirm_s / period_s,
        "attempts": report.attempts,
    }
    if report.confirmed:
        events: Events = []
        if unsafe is not None:
            events.append(("alarm", f"safe state confirmed again: {why}", data | {"unsafe": False}))
        return None, [*events, ("safety", f"safe state confirmed ({why})", data)]
    unsafe = f"safe state not confirmed: {report.describe()}"
    return unsafe, [("alarm", f"UNSAFE: {unsafe} ({why})", data | {"unsafe": True})]


async def retry_until_confirmed(
    attempt: Callable[[], Awaitable[object]],
    unsafe: Callable[[], bool],
    *,
    sleep: Sleep,
    period_s: float,
) -> None:
    """Escalation: while `unsafe()`, the procedure (`attempt`, which settles `unsafe`) is
    commanded again after one period, then two, four, ... at most `ESCALATION_MAX_PERIODS`
    (the link may come back)."""
    delay = period_s
    while unsafe():
        await sleep(delay)
        if unsafe():
            await attempt()
        delay = min(delay * 2, ESCALATION_MAX_PERIODS * period_s)
