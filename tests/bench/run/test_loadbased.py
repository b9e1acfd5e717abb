"""When a load-based point has been measured long enough: whole compressor cycles, or the
fixed time (docs/standards.md §7)."""

from bench.plan.loadbased import LoadBasedSetting
from bench.run.frame import Frame
from bench.run.loadbased import CycleWatch
from bench.run.points import HP_COMPRESSOR_ON
from instruments.base import Reading


def setting(cycles: int | None, duration_s: float) -> LoadBasedSetting:
    return LoadBasedSetting(
        plc=0.15, building="one_mass", application="medium", design_w=9000.0, t_flow_c=30.0,
        t_out_c=12.0, tau_h_s=1957.0, tau_b_s=209_000.0, warm_up_s=0.0,
        duration_s=duration_s, cycles=cycles, step_s=1.0,
    )  # fmt: skip


def watch(states: list[tuple[float, bool]]) -> CycleWatch:
    w = CycleWatch()
    for seq, (t, on) in enumerate(states):
        w.update(Frame(seq, t, {HP_COMPRESSOR_ON: Reading(float(on), "")}))
    return w


# compressor starts at 100, 1100, 2100, 3100; stops at 400, 1400, 2400
CYCLING = [(0, False), (100, True), (400, False), (1100, True), (1400, False), (2100, True)]
CYCLING += [(2400, False), (3100, True)]


def test_three_whole_cycles_run_from_a_start_to_the_start_three_cycles_later() -> None:
    w = watch(CYCLING)
    assert w.starts == [100, 1100, 2100, 3100] and w.stops == [400, 1400, 2400]
    assert w.window(0, 3100, setting(3, 10_000)) == (100, 3100)
    before = watch(CYCLING[:-1])  # at 3000 s the third cycle is not whole yet
    assert before.window(0, 3000, setting(3, 10_000)) is None
    assert w.window(500, 3100, setting(3, 10_000)) is None  # counted from the collection start


def test_fixed_time_when_the_unit_modulates_and_whole_cycles_when_time_runs_out() -> None:
    steady = watch([(0, True), (5000, True)])
    assert steady.window(0, 3599, setting(3, 3600)) is None
    assert steady.window(0, 3600, setting(3, 3600)) == (0, 3600)
    at_2500 = watch(CYCLING[:-1])
    assert at_2500.window(0, 2500, setting(3, 2500)) == (100, 2100)  # two whole cycles
    assert at_2500.window(0, 2500, setting(None, 2500)) == (100, 2100)
