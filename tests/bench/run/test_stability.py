"""The steady-state judge: a missing reading against one out of tolerance (decision 0150)."""

from bench.run.stability import Controlled, Judge, Tolerance

AIR = Controlled("air_dry_bulb", 2.0, Tolerance(mean=0.3, individual=1.0))


def feed(judge: Judge, samples: list[tuple[float, float | None]]) -> list[bool]:
    return [judge.add(t, {"air_dry_bulb": value}) for t, value in samples]


def test_a_short_stale_spell_neither_breaks_nor_starts_a_load_based_warm_up() -> None:
    judge = Judge([AIR], stale_grace_s=300.0)
    feed(judge, [(0, 2.1), (10, None), (300, None), (310, 2.0)])
    assert judge.held_for(310) == 310  # in tolerance since 0, through the stale spell
    fresh = Judge([AIR], stale_grace_s=300.0)
    assert feed(fresh, [(0, None), (10, 2.0)]) == [False, True]  # no evidence before 10 s
    assert fresh.held_for(20) == 10


def test_a_long_stale_spell_or_a_reading_out_of_tolerance_resets_it() -> None:
    judge = Judge([AIR], stale_grace_s=300.0)
    assert feed(judge, [(0, 2.0), (200, None), (301, None)]) == [True, True, False]
    assert judge.held_for(301) == 0 and "no valid reading" in judge.last_out
    out = Judge([AIR], stale_grace_s=300.0)
    assert feed(out, [(0, 2.0), (10, 3.5)]) == [True, False]  # 1.5 K off: conditions lost


def test_without_a_grace_a_missing_reading_breaks_the_equilibrium_as_before() -> None:
    judge = Judge([AIR])
    assert feed(judge, [(0, 2.0), (10, None)]) == [True, False]
    assert judge.held_for(10) == 0
