"""The lab issue's acceptance: four simulated benches (separate `hpbench run` processes, their
own station names) run at the same time, publish to one mosquitto and sync to one PostgreSQL
that is killed while they run and restarted: every frame of every run ends up in the
database, and the fleet view (80 x 24) shows all four with their last synced run. And ten
benches fit an 80 x 24 terminal."""

from __future__ import annotations

import sqlite3
import subprocess

import psycopg
import pytest
from textual.widgets import DataTable

from bench.lab import outbox
from bench.telemetry import payloads
from bench.telemetry.commands import fleet_config
from bench.telemetry.fleet import FleetApp
from tests.bench.lab.conftest import finished_run, start_run
from tests.bench.telemetry.conftest import broker, tool, wait_until  # noqa: F401 (fixture)

BENCHES = ("lab-1", "lab-2", "lab-3", "lab-4")


def _fits(app: FleetApp) -> None:
    table = app.query_one("#benches", DataTable)
    assert table.virtual_size.width <= app.size.width, (table.virtual_size, app.size)
    assert table.virtual_size.height <= table.size.height, (table.virtual_size, table.size)


@pytest.mark.timeout(900)  # four benches at once on a shared CI machine
async def test_four_benches_sync_everything_through_a_database_crash(broker, pg, lab_url):  # noqa: F811
    mqtt = broker()
    extra = (
        f'[telemetry]\nurl = "{mqtt.url()}"\nstatus_interval_s = 1\n'
        f'[lab]\ndatabase = "{lab_url}"\nretry_initial_s = 0.5\nretry_max_s = 2\n'
    )
    folder = pg.root.parent / f"{pg.root.name}-benches-{lab_url.rsplit('/', 1)[-1]}"
    benches = {name: start_run(folder, name, speed=200, extra=extra) for name in BENCHES}
    app = FleetApp(fleet_config(mqtt.url()), db=lab_url)
    async with app.run_test(size=(80, 24)) as pilot:
        try:

            def running(name: str) -> bool:
                bench = app.state.benches.get(name)
                return bench is not None and bench.online is True and bench.state == "running"

            await wait_until(lambda: all(running(n) for n in BENCHES), 240, "four benches run")
            pg.stop("immediate")  # the database crashes while every bench is mid-run
            runs = {}
            for name, (proc, results) in benches.items():
                runs[name] = finished_run(proc, results)  # the runs end well regardless
            boxes = [outbox.outbox_of(d.parent) for d in runs.values()]
            await wait_until(
                lambda: all(e.attempts for b in boxes for e in outbox.entries(b)),
                60,
                "a failed attempt of every sync while the database is down",
            )
            assert all(outbox.entries(b)[0].state == "pending" for b in boxes)
            pg.start()

            def all_done() -> bool:
                return all(
                    outbox.entries(outbox.outbox_of(d.parent))[0].state == "done"
                    for d in runs.values()
                )

            await wait_until(all_done, 180, "every outbox drained after the restart")
            with psycopg.connect(lab_url) as conn:
                for name, run_dir in runs.items():
                    store = sqlite3.connect(run_dir / "run.sqlite")
                    want = [s for (s,) in store.execute("SELECT seq FROM frames ORDER BY seq")]
                    store.close()
                    got = [
                        s
                        for (s,) in conn.execute(
                            "SELECT f.seq FROM frames f JOIN runs r ON r.id = f.run"
                            " JOIN stations s ON s.id = r.station_id WHERE s.name = %s"
                            " ORDER BY f.seq",
                            (name,),
                        )
                    ]
                    assert len(want) > 100 and got == want, name

            # the fleet: all four, each with the run the database holds
            ids = {name: run_dir.name.rsplit("_", 1)[-1] for name, run_dir in runs.items()}

            def shown() -> bool:
                table = app.query_one("#benches", DataTable)
                return all(
                    n in table.rows and app.row_text(n)["synced"].startswith(ids[n])
                    for n in BENCHES
                )

            await wait_until(shown, 30, "the fleet shows every bench's last synced run")
            await pilot.pause()
            assert app.compact
            _fits(app)
        finally:
            for proc, _ in benches.values():
                if proc.poll() is None:
                    proc.kill()
            if not pg.running():
                pg.start()


def _publish_ten(mqtt) -> None:
    """Ten benches' retained statuses, by mosquitto_pub (a client no one here wrote)."""
    for n in range(10):
        station = f"climate-lab-bench-{n:02d}"  # longer than the column: cut, not wrapped
        run = payloads.RunInfo(f"r{n}", "en14511_rating", f"/r/x_r{n}", speed=1, points=7)
        status = type(
            "S",
            (),
            dict(
                phase="stabilising",
                point_index=n % 7,
                point_count=7,
                point_id="A-7W55",
                time_in_phase_s=3.0,
                eta_point_s=600.0,
                eta_plan_s=36000.0 + n,
                frames=100,
            ),
        )()
        body = payloads.status_payload(station, online=True, status=status, run=run, interval_s=60)
        message = ["-t", f"hpbench/{station}/status", "-m", payloads.encode(body).decode()]
        subprocess.run(
            [tool("mosquitto_pub"), *mqtt.client_args(), "-r", "-q", "1", *message],
            check=True,
            timeout=30,
        )


async def test_ten_benches_fit_80_by_24(broker):  # noqa: F811
    mqtt = broker()
    _publish_ten(mqtt)
    app = FleetApp(fleet_config(mqtt.url()))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(lambda: len(app.state.benches) == 10, 30, "ten retained statuses")
        await pilot.pause()
        table = app.query_one("#benches", DataTable)
        await wait_until(lambda: len(table.rows) == 10, 10)
        await pilot.pause()
        _fits(app)
        row = app.row_text("climate-lab-bench-07")
        assert row["bench"] == "climate-lab…" and row["state"] == "stabilising"
        assert row["point"] == "1/7 A-7W55" and row["eta"] == "10:00:07"
