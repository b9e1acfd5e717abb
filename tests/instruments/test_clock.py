import time

import pytest

from instruments.clock import RealClock, ScaledClock, make_clock


def test_real_clock_is_wall_time():
    assert abs(RealClock().now() - time.time()) < 1.0


def test_scaled_clock_runs_speed_times_faster():
    clock = ScaledClock(1000.0)
    t0, w0 = clock.now(), time.monotonic()
    time.sleep(0.02)
    bench_elapsed, wall_elapsed = clock.now() - t0, time.monotonic() - w0
    assert bench_elapsed == pytest.approx(wall_elapsed * 1000.0, rel=0.05)


async def test_scaled_sleep_waits_bench_seconds():
    clock = ScaledClock(500.0)
    t0 = clock.now()
    await clock.sleep(10.0)  # 20 ms of wall time
    assert clock.now() - t0 >= 10.0


def test_a_second_process_can_rebuild_the_same_clock():
    clock = ScaledClock(200.0)
    twin = ScaledClock(**clock.spec())
    assert abs(twin.now() - clock.now()) < 1e-3 * 200


@pytest.mark.parametrize("speed", [0.5, 0, -1, 1e6])
def test_scaled_clock_refuses_silly_speeds(speed):
    with pytest.raises(ValueError, match="between 1 and 100000"):
        ScaledClock(speed)


def test_make_clock_gives_real_time_at_speed_one():
    assert isinstance(make_clock(1.0), RealClock)
    assert make_clock(10.0).speed == 10.0
