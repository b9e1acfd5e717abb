"""When a load-based point has been measured long enough: whole compressor cycles, or the
fixed time (docs/standards.md §7)."""

from bench.plan.loadbased import LoadBasedSetting
from bench.run.frame import Frame
from bench.run.loadbased import CycleWatch
from bench.run.points import HP_COMPRESSOR_ON, HP_DEFROST
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


def watch_defrosts(states: list[tuple[float, bool]]) -> CycleWatch:
    """A unit that runs on (modulating) and defrosts at the given times."""
    w = CycleWatch()
    for seq, (t, defrost) in enumerate(states):
        readings = {HP_COMPRESSOR_ON: Reading(1.0, ""), HP_DEFROST: Reading(float(defrost), "")}
        w.update(Frame(seq, t, readings))
    return w


# defrosts from 1000 to 1300, 5000 to 5300, 9000 to 9300: whole defrost cycles of 4000 s
DEFROSTING = [(0, False), (1000, True), (1300, False), (5000, True), (5300, False)]
DEFROSTING += [(9000, True), (9300, False), (9400, False)]


def test_a_unit_that_defrosts_is_measured_over_whole_defrost_cycles() -> None:
    two = watch_defrosts(DEFROSTING[:5])
    assert two.defrost_ends == [1300, 5300]
    assert two.window(0, 5300, setting(1, 3600)) == (1300, 5300)  # one whole defrost cycle
    assert two.window(0, 5300, setting(3, 7200)) is None  # not yet 3 cycles nor 7200 s
    three = watch_defrosts(DEFROSTING)
    assert three.window(0, 9400, setting(3, 7200)) == (1300, 9300)  # 8000 s fill the time
    inside = watch_defrosts(DEFROSTING[:4])  # the fixed time has run out inside a defrost
    assert inside.window(0, 5100, setting(3, 3600)) is None
    assert three.window(1500, 9400, setting(3, 3600)) == (5300, 9300)  # from the collection


def test_a_defrost_in_the_warm_up_makes_the_window_wait_for_whole_defrost_cycles() -> None:
    warm_up = watch_defrosts([*DEFROSTING[:3], (5000, False)])  # defrosted before 1400
    assert warm_up.window(1400, 5000, setting(3, 3600)) is None  # past the fixed time: waits
    w = watch_defrosts(DEFROSTING)
    assert w.window(1400, 9300, setting(3, 3600)) == (5300, 9300)


def test_a_unit_that_stops_frosting_is_measured_for_the_last_fixed_time() -> None:
    once = watch_defrosts([(0, False), (1000, True), (1300, False), (8500, False)])
    assert once.window(0, 8499, setting(3, 3600)) is None  # waits twice the fixed time
    assert once.window(0, 8500, setting(3, 3600)) == (4900, 8500)


def test_a_unit_that_cycles_slowly_is_waited_for_until_one_whole_cycle() -> None:
    slow = watch([(0, True), (600, False), (3000, True)])  # stopped once, started again
    assert slow.window(0, 3600, setting(3, 3600)) is None
    longer = watch([(0, True), (600, False), (3000, True), (3900, False), (6000, True)])
    assert longer.window(0, 6000, setting(3, 3600)) == (3000, 6000)
    never = watch([(0, True), (600, False), (7200, False)])  # off for twice the fixed time
    assert never.window(0, 7200, setting(3, 3600)) == (0, 7200)
