"""`hpbench fleet`: every bench publishing on a broker, live, in one Textual screen.

`FleetState` is the model, pure and testable without a terminal: it folds the messages of
`<prefix>/+/+` into one `BenchView` per station (state, plan, point, phase, ETA, last alarm,
online / offline / silent, the newest frame's channels). `FleetApp` subscribes with its own
reconnect loop (aiomqtt on the app's event loop; nothing blocks it) and shows the table;
Enter on a bench opens its live channels, Escape goes back.

A bench is offline when its retained status says so: the publisher's last will (the broker
sends it when the bench's connection drops) or its clean goodbye. It is "silent" when it says
it is online but nothing has come for three of its status intervals.

With `--db`, each bench's last run synced to the lab database (bench/lab) is read from it
every few seconds, in a thread: what the database holds, not what a bench says it sent.
Under 120 columns the table is compact (the phase stands for the state while a plan runs,
long texts are cut), so ten benches fit an 80 x 24 terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import secrets
import ssl
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import aiomqtt
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from bench.telemetry.config import TelemetryConfig
from bench.telemetry.publisher import (
    BACKOFF_INITIAL_S,
    BACKOFF_MAX_S,
    describe_error,
    force_close,
    make_client,
)

SCHEMA_FAMILY = "hpbench.telemetry/"
SILENT_AFTER_INTERVALS = 3
MIN_SILENT_S = 15.0

COLUMNS = (
    ("bench", "bench"),
    ("online", "online"),
    ("state", "state"),
    ("plan", "plan"),
    ("point", "point"),
    ("phase", "phase"),
    ("eta", "ETA"),
    ("alarm", "last alarm"),
    ("seen", "seen"),
    ("synced", "last synced"),
)
COMPACT = (
    ("bench", "bench", 12),
    ("state", "state", 11),
    ("point", "point", 12),
    ("eta", "ETA", 9),
    ("alarm", "last alarm", 10),
    ("synced", "synced", 12),
)
WIDE_FROM = 120  # columns: narrower terminals get COMPACT
SYNCED_EVERY_S = 5.0


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


@dataclass
class BenchView:
    """What the fleet knows of one bench, merged from all its topics."""

    station: str
    online: bool | None = None
    state: str = "?"
    phase: str | None = None
    plan: str | None = None
    run_id: str | None = None
    run_dir: str | None = None
    point: dict[str, Any] | None = None
    eta_plan_s: float | None = None
    speed: float | None = None
    frames: int | None = None
    last_alarm: dict[str, Any] | None = None
    interval_s: float | None = None
    reason: str | None = None
    last_point: dict[str, Any] | None = None
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    frame_seq: int | None = None
    frame_t: float | None = None
    last_seen: float = 0.0  # monotonic, any message
    synced: str = "-"  # the last run in the lab database, when the fleet has one

    def availability(self, now: float) -> str:
        if self.online is False:
            return "offline"
        if self.online is None:
            return "?"
        quiet = max(MIN_SILENT_S, SILENT_AFTER_INTERVALS * (self.interval_s or 5.0))
        return "silent" if now - self.last_seen > quiet else "online"

    def eta_wall_s(self) -> float | None:
        if self.eta_plan_s is None:
            return None
        return self.eta_plan_s / (self.speed or 1.0)

    def point_text(self) -> str:
        p = self.point
        if not p:
            return "-"
        return f"{p.get('index', 0) + 1}/{p.get('count', '?')} {p.get('id', '')}"

    def alarm_text(self) -> str:
        return str(self.last_alarm.get("message", "")) if self.last_alarm else "-"

    def row(self, now: float) -> dict[str, str]:
        return {
            "bench": self.station,
            "online": self.availability(now),
            "state": self.state,
            "plan": self.plan or "-",
            "point": self.point_text(),
            "phase": self.phase or "-",
            "eta": duration(self.eta_wall_s()) if self.online else "-",
            "alarm": self.alarm_text(),
            "seen": f"{max(0.0, now - self.last_seen):.0f} s ago" if self.last_seen else "-",
            "synced": self.synced,
        }

    def compact_row(self, now: float) -> dict[str, str]:
        """The row for a narrow terminal: the phase of a running plan stands for its state."""
        row = self.row(now)
        available = row["online"]
        row["state"] = available if available != "online" else (self.phase or self.state)
        return {key: _cut(row[key], width) for key, _, width in COMPACT}


class FleetState:
    """Messages in, one BenchView per station out."""

    def __init__(self, prefix: str = "hpbench") -> None:
        self.prefix = prefix
        self.benches: dict[str, BenchView] = {}
        self.rejected = 0  # messages that were not ours or not JSON

    def apply(self, topic: str, payload: bytes, now: float | None = None) -> str | None:
        """Fold one message in; returns the station it changed, or None if it was ignored."""
        now = time.monotonic() if now is None else now
        head = f"{self.prefix}/"
        if not topic.startswith(head):
            return None
        parts = topic[len(head) :].split("/")
        if len(parts) != 2:
            return None
        station, kind = parts
        try:
            body = json.loads(payload)
        except (ValueError, UnicodeDecodeError):
            self.rejected += 1
            return None
        if not isinstance(body, dict) or not str(body.get("schema", "")).startswith(SCHEMA_FAMILY):
            self.rejected += 1
            return None
        bench = self.benches.setdefault(station, BenchView(station))
        bench.last_seen = now
        handler = getattr(self, f"_on_{kind}", None)
        if handler is not None:
            handler(bench, body)
        return station

    @staticmethod
    def _on_status(bench: BenchView, body: dict[str, Any]) -> None:
        online = bool(body.get("online"))
        bench.online = online
        bench.state = str(body.get("state") or ("offline" if not online else "?"))
        bench.reason = body.get("reason")
        if body.get("interval_s"):
            bench.interval_s = float(body["interval_s"])
        fields = ("phase", "plan", "run_id", "run_dir", "point", "eta_plan_s", "speed", "frames")
        for name in fields:
            value = body.get(name)
            if online or value is not None:  # a last will knows less: keep what we had
                setattr(bench, name, value)
        if body.get("last_alarm") is not None or online:
            bench.last_alarm = body.get("last_alarm") or bench.last_alarm

    @staticmethod
    def _on_frame(bench: BenchView, body: dict[str, Any]) -> None:
        channels = body.get("channels")
        if isinstance(channels, dict):
            bench.channels = channels
            bench.frame_seq = body.get("seq")
            bench.frame_t = body.get("t")

    @staticmethod
    def _on_point(bench: BenchView, body: dict[str, Any]) -> None:
        results = body.get("results") or {}
        bench.last_point = {"id": body.get("id"), "status": body.get("status"), **results}

    @staticmethod
    def _on_event(bench: BenchView, body: dict[str, Any]) -> None:
        if body.get("kind") == "alarm":
            bench.last_alarm = {"t": body.get("t"), "message": body.get("message", "")}

    @staticmethod
    def _on_run(bench: BenchView, body: dict[str, Any]) -> None:
        bench.plan = body.get("plan", bench.plan)
        bench.run_id = body.get("run_id", bench.run_id)
        bench.run_dir = body.get("run_dir", bench.run_dir)
        if body.get("event") == "start":
            bench.last_point, bench.last_alarm = None, None


def _value_text(entry: dict[str, Any]) -> str:
    value = entry.get("value")
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.0f}"
    return str(value)


class BenchScreen(Screen[None]):
    """One bench's live channels."""

    BINDINGS: ClassVar = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, station: str) -> None:
        super().__init__()
        self.station = station

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical():
            yield Static(id="summary")
            yield DataTable(id="channels", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#channels", DataTable)
        table.add_column("channel", key="channel")
        table.add_column("value", key="value")
        table.add_column("unit", key="unit")
        table.add_column("quality", key="quality")
        self.update_view()

    def update_view(self) -> None:
        app = self.app
        assert isinstance(app, FleetApp)
        bench = app.state.benches.get(self.station)
        if bench is None:
            return
        now = time.monotonic()
        last = bench.last_point
        point = (
            f"  last point {last.get('id')} {last.get('status')}"
            + (f" COP {last['cop']:.2f}" if isinstance(last.get("cop"), float) else "")
            if last
            else ""
        )
        self.query_one("#summary", Static).update(
            f"{bench.station}  {bench.availability(now)}  {bench.state}  {bench.plan or '-'}  "
            f"point {bench.point_text()}  {bench.phase or '-'}  frame {bench.frame_seq}{point}"
        )
        table = self.query_one("#channels", DataTable)
        for cid in sorted(bench.channels):
            entry = bench.channels[cid]
            cells = {
                "channel": cid,
                "value": _value_text(entry),
                "unit": str(entry.get("unit", "")),
                "quality": str(entry.get("quality", "")),
            }
            if cid in table.rows:
                for column, text in cells.items():
                    if column != "channel":
                        table.update_cell(cid, column, text)
            else:
                table.add_row(*cells.values(), key=cid)


class FleetApp(App[None]):
    """The fleet table; Enter opens a bench's channels."""

    TITLE = "hpbench fleet"
    CSS = """
    #broker { height: 1; padding: 0 1; }
    #benches { height: 1fr; }
    #summary { height: 1; padding: 0 1; }
    """
    BINDINGS: ClassVar = [Binding("q", "quit", "Quit")]

    def __init__(
        self, config: TelemetryConfig, *, tls: ssl.SSLContext | None = None, db: str | None = None
    ) -> None:
        super().__init__()
        self.config = config
        self.db = db
        self.compact = False
        self._tls = tls if tls is not None or not config.broker.tls else config.tls_context()
        self.state = FleetState(config.prefix)
        self.broker_state = "connecting"
        self.db_state = "db …" if db else ""
        self.messages = 0

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="broker")
        yield DataTable(id="benches", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"{self.config.broker}  {self.config.prefix}/+"
        self._columns()
        self._show_broker()
        self.set_interval(1.0, self._tick)
        self.run_worker(self._subscribe(), name="fleet-mqtt", exclusive=True, exit_on_error=False)
        if self.db:
            self.run_worker(self._watch_synced(), name="fleet-db", exit_on_error=False)

    def _columns(self) -> None:
        """The full or the compact columns, for the terminal's width; rows follow on the tick."""
        compact = self.size.width < WIDE_FROM
        table = self.query_one("#benches", DataTable)
        if table.columns and compact == self.compact:
            return
        self.compact = compact
        table.clear(columns=True)
        for key, label, *_ in COMPACT if compact else COLUMNS:
            table.add_column(label, key=key)
        for station in self.state.benches:
            self.show_bench(station)

    def on_resize(self) -> None:
        with contextlib.suppress(Exception):
            self._columns()

    async def _watch_synced(self) -> None:
        """Each bench's last synced run, from the lab database (psycopg in a thread)."""
        from bench.lab.commands import connect
        from bench.lab.queries import last_synced

        def read() -> dict[str, dict[str, Any]]:
            assert self.db is not None
            with connect(self.db) as conn:
                return last_synced(conn)

        while True:
            try:
                synced = await asyncio.to_thread(read)
                self.db_state = "db ok"
            except Exception as exc:  # the fleet keeps watching the broker regardless
                self.db_state = f"db: {type(exc).__name__}"
                synced = {}
            for station, row in synced.items():
                bench = self.state.benches.setdefault(station, BenchView(station))
                bench.synced = f"{row['run_id']} {row['outcome']}"
            await asyncio.sleep(SYNCED_EVERY_S)

    def _show_broker(self) -> None:
        benches = self.state.benches.values()
        online = sum(1 for b in benches if b.availability(time.monotonic()) == "online")
        self.query_one("#broker", Static).update(
            f"broker {self.config.broker}: {self.broker_state}   "
            f"benches {len(self.state.benches)} ({online} online)   {self.db_state}"
        )

    async def _subscribe(self) -> None:
        delay = BACKOFF_INITIAL_S
        identifier = f"hpbench-fleet-{secrets.token_hex(4)}"
        topic = f"{self.config.prefix}/+/+"
        while True:
            client = make_client(self.config, identifier=identifier, tls=self._tls)
            try:
                async with client:
                    await client.subscribe(topic, qos=1)
                    self.broker_state = "connected"
                    delay = BACKOFF_INITIAL_S
                    self._show_broker()
                    async for message in client.messages:
                        self.messages += 1
                        payload = message.payload
                        if not isinstance(payload, bytes | bytearray):
                            payload = str(payload).encode()
                        station = self.state.apply(str(message.topic), bytes(payload))
                        if station is not None:
                            self.show_bench(station)
            except aiomqtt.MqttError as exc:
                self.broker_state = f"disconnected ({describe_error(exc)}); retrying"
            except Exception as exc:  # keep watching whatever one message did
                self.broker_state = f"error ({type(exc).__name__}: {exc}); reconnecting"
            finally:
                force_close(client)
            with contextlib.suppress(Exception):
                self._show_broker()
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, BACKOFF_MAX_S)

    def show_bench(self, station: str) -> None:
        bench = self.state.benches[station]
        now = time.monotonic()
        row = bench.compact_row(now) if self.compact else bench.row(now)
        table = self.query_one("#benches", DataTable)
        if station in table.rows:
            for key, text in row.items():
                if key != "bench":
                    table.update_cell(station, key, text)
        else:
            table.add_row(*row.values(), key=station)
            self._show_broker()
        screen = self.screen
        if isinstance(screen, BenchScreen) and screen.station == station:
            screen.update_view()

    def _tick(self) -> None:
        for station in self.state.benches:
            with contextlib.suppress(Exception):
                self.show_bench(station)
        self._show_broker()

    def row_text(self, station: str) -> dict[str, str]:
        """What the table shows for a bench (for tests and scripts)."""
        table = self.query_one("#benches", DataTable)
        return {str(key.value): str(table.get_cell(station, key)) for key in table.columns}

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "benches" and event.row_key.value is not None:
            self.push_screen(BenchScreen(str(event.row_key.value)))
