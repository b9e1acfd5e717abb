"""The telemetry publisher: the run's status, frames, points, events and start/end over MQTT.

It sits beside the engine and never in its way:

    engine ─(Bus.publish)─► bounded subscriptions ─► pumps ─► Outbox ─► sender ─► broker
    engine.on_point (chained: one append) ─────────────────────►  ▲
                                                     coalesces frames, drops oldest

The engine's only contact is `Bus.publish` (a bounded queue that drops its oldest item) and the
chained `on_point` callback (one append). Everything that can wait - connecting, TLS, PUBACKs,
a broker that is slow, down or refuses us - happens in the publisher's own tasks. The outbox
keeps the newest frame only (sent at `frame_rate_hz` wall), a "status due" flag (the payload is
built from `engine.status()` when it is sent), and two bounded FIFO lanes: run and point
messages, and events. A message leaves the outbox only once the broker has it (PUBACK at QoS 1),
so points and the run's end survive an outage; when a lane overflows its oldest is dropped and
counted. The run store never depends on any of this.

Connection (aiomqtt 2.5 has no auto-reconnect; docs/reconnection.md): one aiomqtt `Client` per
attempt, in a loop with exponential backoff and jitter. Each connection sets a last will (the
retained status with `online: false, state: offline`) and first republishes the current
retained status, so a restarted broker without persistence is current again at once. A broker
that refuses our credentials or fails TLS verification is not retried: one clear line, and the
run goes on without telemetry (`check_broker` lets a caller refuse to start instead).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import secrets
import ssl
import sys
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiomqtt
from aiomqtt.exceptions import MqttConnectError

from bench.telemetry import payloads
from bench.telemetry.config import TelemetryConfig
from bench.telemetry.payloads import RunInfo, encode

LOG = logging.getLogger("bench.telemetry.mqtt")
LOG.setLevel(logging.WARNING)

BACKOFF_INITIAL_S = 0.5
BACKOFF_MAX_S = 30.0
LINGER_S = 5.0  # at close: how long the last messages may take to reach the broker
FRAME_QUEUE = 8  # bus subscription sizes: only the newest frame matters
EVENT_QUEUE = 1024
# event kinds that are shown in the status instead of the event topic, or are too chatty
NOT_EVENTS = frozenset({"state", "point", "command"})
STATUS_KINDS = frozenset({"state", "point", "operator", "alarm", "run", "transient"})
AUTH_CODES = {4, 5, 134, 135}  # MQTT 3.1.1 CONNACK 4/5, MQTT 5 reason codes 134/135

Log = Callable[[str], None]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class TelemetryRefused(Exception):
    """The broker refused us or cannot be reached, and telemetry is required. One line."""


@dataclass
class TelemetryStats:
    published: Counter[str] = field(default_factory=Counter)  # per topic
    dropped: Counter[str] = field(default_factory=Counter)  # outbox overflow, per topic
    frames_coalesced: int = 0  # frames replaced by a newer one before they were sent
    connects: int = 0
    connected: bool = False
    refused: str = ""  # why telemetry stopped for good (credentials, TLS)
    last_error: str = ""

    def summary(self) -> str:
        total = sum(self.published.values())
        parts = [f"{total} messages published ({self.published['frame']} frames)"]
        dropped = sum(self.dropped.values())
        if dropped:
            per_topic = ", ".join(f"{k} {v}" for k, v in self.dropped.items())
            parts.append(f"{dropped} dropped ({per_topic})")
        if self.connects > 1:
            parts.append(f"{self.connects - 1} reconnection(s)")
        return ", ".join(parts)


@dataclass
class _Out:
    seq: int
    topic: str
    build: Callable[[], dict[str, Any]]


class Outbox:
    """Bounded: newest frame, a status flag, and two FIFO lanes that drop their oldest."""

    def __init__(self, size: int, stats: TelemetryStats) -> None:
        self.size = size
        self.stats = stats
        self.lanes: tuple[deque[_Out], deque[_Out]] = (deque(), deque())  # (run+point, events)
        self.frame: Any = None
        self.status_due = True
        self._seq = 0
        self.wake = asyncio.Event()

    def put(self, topic: str, build: Callable[[], dict[str, Any]]) -> None:
        lane = self.lanes[1] if topic == "event" else self.lanes[0]
        if len(lane) >= self.size:
            dropped = lane.popleft()
            self.stats.dropped[dropped.topic] += 1
        self._seq += 1
        lane.append(_Out(self._seq, topic, build))
        self.wake.set()

    def put_frame(self, frame: Any) -> None:
        if self.frame is not None:
            self.stats.frames_coalesced += 1
        self.frame = frame
        self.wake.set()

    def mark_status(self) -> None:
        self.status_due = True
        self.wake.set()

    def head(self) -> _Out | None:
        heads = [lane[0] for lane in self.lanes if lane]
        return min(heads, key=lambda o: o.seq) if heads else None

    def done(self, item: _Out) -> None:
        for lane in self.lanes:
            if lane and lane[0] is item:
                lane.popleft()
                return

    def messages_pending(self) -> int:
        return sum(len(lane) for lane in self.lanes)


def describe_error(exc: BaseException) -> str:
    """The error as one line, with the TLS cause when aiomqtt wrapped one."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return f"TLS: {getattr(seen, 'verify_message', '') or seen.reason or seen}"
        seen = seen.__cause__ or seen.__context__
    text = str(exc) or type(exc).__name__
    return text.replace("\n", " ")


def _refusal(exc: BaseException, config: TelemetryConfig) -> str | None:
    """Why the broker will never take us as configured (credentials, TLS), else None."""
    if isinstance(exc, MqttConnectError):
        rc = exc.rc
        code = getattr(rc, "value", rc)
        if code in AUTH_CODES:
            reason = str(rc) if not isinstance(rc, int) else str(exc)
            return f"refused the credentials{_who(config)}: {reason.lower()}"
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return describe_error(exc)
        seen = seen.__cause__ or seen.__context__
    return None


def _who(config: TelemetryConfig) -> str:
    user = config.broker.username
    return f" (user {user!r})" if user else " (no user name given)"


def force_close(client: aiomqtt.Client) -> None:
    """Close the socket of a client whose graceful disconnect could not finish (a hung broker),
    so no reader is left on the loop. paho's own close (private, stable across paho 2.x)."""
    paho = getattr(client, "_client", None)
    close = getattr(paho, "_sock_close", None)
    if close is not None:
        with contextlib.suppress(Exception):
            close()


def make_client(
    config: TelemetryConfig,
    *,
    identifier: str,
    will: aiomqtt.Will | None = None,
    tls: ssl.SSLContext | None = None,
) -> aiomqtt.Client:
    password = config.broker.password.get_secret_value() if config.broker.password else None
    return aiomqtt.Client(
        config.broker.host,
        config.broker.port,
        username=config.broker.username,
        password=password,
        identifier=identifier,
        will=will,
        keepalive=config.keepalive_s,
        timeout=config.timeout_s,
        tls_context=tls,
        logger=LOG,
        clean_session=True,
    )


async def check_broker(config: TelemetryConfig, *, tls: ssl.SSLContext | None = None) -> None:
    """Connect once and disconnect. Raises TelemetryRefused with one line if the broker refuses
    us or cannot be reached within the config's timeout."""
    tls = tls if tls is not None else config.tls_context()
    client = make_client(config, identifier=f"hpbench-check-{secrets.token_hex(4)}", tls=tls)
    try:
        async with asyncio.timeout(config.timeout_s * 2):
            async with client:
                pass
    except (aiomqtt.MqttError, TimeoutError) as exc:
        why = _refusal(exc, config) or f"cannot be reached: {describe_error(exc)}"
        raise TelemetryRefused(f"{config.broker} {why}") from None
    finally:
        force_close(client)


class Publisher:
    """Publishes one bench's telemetry. `attach(engine, run)`, `await start()`, run the engine,
    then `await close(phase)`. Or `async with Publisher(...) as p:` around `attach` + the run."""

    def __init__(
        self,
        config: TelemetryConfig,
        *,
        log: Log | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.config = config
        self.stats = TelemetryStats()
        self.log: Log = log or _stderr
        # loads the TLS files now, before the run, never on the loop's path
        self._tls = tls if tls is not None else config.tls_context()
        self._identifier = f"hpbench-{config.station}-{secrets.token_hex(3)}"
        self._outbox: Outbox | None = None
        self._source: Any = None  # where frames and events come from
        self._engine: Any = None  # the run's engine: status, clock, on_point
        self._run: RunInfo | None = None
        self._frames_sub: Any = None
        self._events_sub: Any = None
        self._prev_on_point: Callable[..., None] | None = None
        self._last_alarm: dict[str, Any] | None = None
        self._point_statuses: dict[str, str] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._conn_task: asyncio.Task[None] | None = None
        self._closing = False
        self._closed = False
        self._ended = False
        self._stop_requested: asyncio.Event | None = None
        self._last_frame_sent = 0.0
        self._last_status_sent = 0.0
        self.connected: asyncio.Event | None = None

    # -- wiring (synchronous: nothing here waits) ---------------------------------------------
    def _box(self) -> Outbox:
        if self._outbox is None:
            self._outbox = Outbox(self.config.outbox_size, self.stats)
        return self._outbox

    def attach(self, source: Any, run: RunInfo | None = None) -> None:
        """Subscribe to `source.frames` and `source.events` (bounded, dropping) and, with `run`,
        queue the run's start with `source` as its engine (`run_started`). Call it on the loop
        before the engine runs, so its first frames are seen.

        `source` is the run's Engine (`hpbench run`), or a longer-lived object with the same two
        buses and a `clock` (the TUI session, whose buses outlive its runs): then call
        `run_started(info, engine)` / `run_ended(phase)` around each run."""
        self._box()
        self._source = source
        if hasattr(source, "status"):
            self._engine = source  # the status source until a run starts, and after it
        self._frames_sub = source.frames.subscribe("telemetry", maxsize=FRAME_QUEUE)
        self._events_sub = source.events.subscribe("telemetry", maxsize=EVENT_QUEUE)
        if run is not None:
            self.run_started(run, source)
        self._box().mark_status()

    def run_started(self, run: RunInfo, engine: Any = None) -> None:
        """A run begins: queue its start; `engine` (its `status()`, `clock`, `on_point`)
        becomes the status source, and its `on_point` is chained to publish each point."""
        box = self._box()
        self._run, self._ended, self._point_statuses = run, False, {}
        if engine is not None:
            self._engine = engine
            if hasattr(engine, "on_point") and engine.on_point != self._on_point:
                self._prev_on_point = engine.on_point
                engine.on_point = self._on_point
        t, station = self._now(), self.config.station
        box.put("run", functools.partial(payloads.run_payload, station, run, "start", t=t))
        box.mark_status()

    def _on_point(self, outcome: Any, results: dict[str, Any]) -> None:
        """Called by the engine as each point ends: one append, and never raises into it."""
        try:
            if self._prev_on_point is not None:
                self._prev_on_point(outcome, results)
        finally:
            if not self.stats.refused and not self._closed:
                with contextlib.suppress(Exception):
                    self._point_statuses[outcome.spec.id] = outcome.status
                    station, run = self.config.station, self._run
                    build = functools.partial(
                        payloads.point_payload, station, run, outcome, results
                    )
                    self._box().put("point", build)
                    self._box().mark_status()

    def run_ended(self, phase: str | None) -> None:
        """The run is over: queue its end (outcome from the final phase) and a status."""
        if self._run is None or self._ended:
            return
        self._ended = True
        box = self._box()
        box.frame = None  # no frame of the run after its end
        outcome = payloads.outcome_of(str(phase) if phase is not None else None)
        status = self._status()
        frames = status.frames if status is not None else None
        build = functools.partial(
            payloads.run_payload,
            self.config.station,
            self._run,
            "end",
            t=self._now(),
            outcome=outcome,
            frames=frames,
            point_statuses=dict(self._point_statuses),
        )
        box.put("run", build)
        box.mark_status()
        if self._source is not None and hasattr(self._source, "status"):
            self._engine = self._source  # a long-lived source (the TUI session) says what's next

    # -- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the background tasks; returns at once (connecting happens beside the run)."""
        self._box()
        self.connected = asyncio.Event()
        self._stop_requested = asyncio.Event()
        if self._frames_sub is not None:
            self._tasks.append(asyncio.create_task(self._pump_frames(), name="telemetry-frames"))
            self._tasks.append(asyncio.create_task(self._pump_events(), name="telemetry-events"))
        self._conn_task = asyncio.create_task(self._connection_loop(), name="telemetry-mqtt")

    async def close(self, phase: str | None = None, *, linger_s: float = LINGER_S) -> None:
        """Queue the run's end, give the last messages up to `linger_s` to reach the broker,
        publish the offline status, disconnect, detach. Bounded: never hangs a run's end."""
        if self._closed:
            return
        await self._stop_pumps()
        self._drain_buses()
        self.run_ended(phase)
        self._closing = True
        if self._stop_requested is not None:
            self._stop_requested.set()
        if self._outbox is not None:
            self._outbox.wake.set()
        if self._conn_task is not None:
            await asyncio.wait({self._conn_task}, timeout=linger_s)
            if not self._conn_task.done():
                self._conn_task.cancel()
                await asyncio.wait({self._conn_task}, timeout=self.config.timeout_s)
        self._closed = True
        self._detach()
        if not self.stats.refused:
            pending = self._outbox.messages_pending() if self._outbox else 0
            tail = f"; {pending} message(s) not delivered" if pending else ""
            self.log(f"telemetry: {self.stats.summary()}{tail}")

    async def __aenter__(self) -> Publisher:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _stop_pumps(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    def _detach(self) -> None:
        source, engine = self._source, self._engine
        if source is not None:
            if self._frames_sub is not None:
                source.frames.unsubscribe(self._frames_sub)
            if self._events_sub is not None:
                source.events.unsubscribe(self._events_sub)
        if engine is not None and getattr(engine, "on_point", None) == self._on_point:
            engine.on_point = self._prev_on_point

    # -- engine side: pumps --------------------------------------------------------------------
    async def _pump_frames(self) -> None:
        box = self._box()
        while True:
            box.put_frame(await self._frames_sub.get())

    async def _pump_events(self) -> None:
        while True:
            self._on_event(await self._events_sub.get())

    def _on_event(self, event: Any) -> None:
        box = self._box()
        if event.kind == "alarm":
            self._last_alarm = {"t": event.t, "message": event.message}
        if event.kind in STATUS_KINDS:
            box.mark_status()
        if event.kind not in NOT_EVENTS:
            run_id = self._run.run_id if self._run else None
            build = functools.partial(payloads.event_payload, self.config.station, run_id, event)
            box.put("event", build)

    def _drain_buses(self) -> None:
        """Take in what the buses still hold (the run's last events), without waiting."""
        if self._events_sub is not None:
            while not self._events_sub.queue.empty():
                self._on_event(self._events_sub.queue.get_nowait())
        if self._frames_sub is not None:
            self._frames_sub.latest()

    # -- payloads built when sent ------------------------------------------------------------------
    def _now(self) -> float | None:
        clock = getattr(self._engine, "clock", None) or getattr(self._source, "clock", None)
        try:
            return clock.now() if clock is not None else None
        except Exception:
            return None

    def _status(self) -> Any:
        try:
            return self._engine.status() if self._engine is not None else None
        except Exception:  # the status is for display: never let it stop telemetry
            return None

    def _status_payload(self, *, online: bool = True, state: str | None = None) -> dict[str, Any]:
        return payloads.status_payload(
            self.config.station,
            online=online,
            status=self._status(),
            run=self._run,
            state=state,
            last_alarm=self._last_alarm,
            interval_s=self.config.status_interval_s,
            t=self._now(),
        )

    def _will(self) -> aiomqtt.Will:
        body = payloads.status_payload(
            self.config.station,
            online=False,
            run=self._run,
            state="offline",
            last_alarm=self._last_alarm,
            reason="connection lost (last will)",
        )
        return aiomqtt.Will(
            self.config.topic("status"), encode(body), qos=self.config.qos["status"], retain=True
        )

    # -- broker side -------------------------------------------------------------------------------
    async def _connection_loop(self) -> None:
        config = self.config
        delay = BACKOFF_INITIAL_S
        down_since: float | None = None
        tried_after_close = False
        while True:
            if self._closing:
                if tried_after_close:
                    return
                tried_after_close = True
            client = make_client(
                config, identifier=self._identifier, will=self._will(), tls=self._tls
            )
            try:
                async with client:
                    self._on_connected(down_since)
                    down_since, delay = None, BACKOFF_INITIAL_S
                    await self._serve(client)
                return  # closing, and everything was sent
            except aiomqtt.MqttError as exc:
                refused = _refusal(exc, config)
                if refused is not None:
                    self._refuse(refused)
                    return
                problem = describe_error(exc)
            except Exception as exc:  # a bug here must not end telemetry for the whole run
                problem = f"{type(exc).__name__}: {describe_error(exc)}"
            finally:
                self.stats.connected = False
                if self.connected is not None:
                    self.connected.clear()
                force_close(client)
            self.stats.last_error = problem
            if down_since is None:
                down_since = time.monotonic()
                if not self._closing:
                    verb = "lost" if self.stats.connects else "cannot reach"
                    self.log(
                        f"telemetry: {verb} {config.broker}: {problem}; acquisition goes on, "
                        "retrying with backoff"
                    )
            if self._closing:
                return
            await self._backoff(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, BACKOFF_MAX_S)

    async def _backoff(self, seconds: float) -> None:
        assert self._stop_requested is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop_requested.wait(), seconds)

    def _on_connected(self, down_since: float | None) -> None:
        self.stats.connects += 1
        self.stats.connected = True
        if self.connected is not None:
            self.connected.set()
        self._box().mark_status()  # republish the retained status first, on every connection
        if self.stats.connects == 1:
            self.log(f"telemetry: publishing to {self.config.broker} under {self.config.topic('')}")
        else:
            away = f" after {time.monotonic() - down_since:.1f} s" if down_since else ""
            self.log(f"telemetry: reconnected to {self.config.broker}{away}; status republished")

    def _refuse(self, why: str) -> None:
        self.stats.refused = why
        self.log(f"telemetry: {self.config.broker} {why}; the run continues without telemetry")
        self._detach()
        for task in self._tasks:
            task.cancel()

    async def _serve(self, client: aiomqtt.Client) -> None:
        """Send until closing and drained; raise MqttError when the connection breaks."""
        sender = asyncio.create_task(self._send(client), name="telemetry-send")
        watcher = asyncio.create_task(self._watch(client), name="telemetry-watch")
        try:
            done, _ = await asyncio.wait({sender, watcher}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sender, watcher):
                task.cancel()
            await asyncio.gather(sender, watcher, return_exceptions=True)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]

    @staticmethod
    async def _watch(client: aiomqtt.Client) -> None:
        """Raises MqttError as soon as the connection breaks, even while nothing is sent."""
        async for _ in client.messages:
            pass

    async def _publish(self, client: aiomqtt.Client, topic: str, payload: bytes) -> None:
        config = self.config
        await client.publish(
            config.topic(topic),
            payload,
            qos=config.qos[topic],
            retain=topic == "status",
            timeout=config.timeout_s,
        )
        self.stats.published[topic] += 1

    def _build(self, topic: str, build: Callable[[], dict[str, Any]]) -> bytes | None:
        """The encoded payload, or None (counted, remembered) if building it failed: a bug in
        a payload must neither wedge the outbox nor pass for a lost connection."""
        try:
            return encode(build())
        except Exception as exc:
            self.stats.dropped[topic] += 1
            self.stats.last_error = f"{topic}: cannot build the payload: {exc!r}"
            return None

    async def _send(self, client: aiomqtt.Client) -> None:
        box, config = self._box(), self.config
        frame_every = 1.0 / config.frame_rate_hz
        while True:
            now = time.monotonic()
            if now - self._last_status_sent >= config.status_interval_s:
                box.status_due = True
            if box.status_due:
                # cleared before the publish: a state change while it waits for its PUBACK
                # marks a newer status due, which must not be lost
                box.status_due = False
                payload = self._build("status", self._status_payload)
                try:
                    if payload is not None:
                        await self._publish(client, "status", payload)
                except BaseException:
                    box.status_due = True
                    raise
                self._last_status_sent = time.monotonic()
                continue
            item = box.head()
            if item is not None:
                payload = self._build(item.topic, item.build)
                if payload is not None:
                    await self._publish(client, item.topic, payload)
                box.done(item)
                continue
            if self._closing:
                offline = functools.partial(self._status_payload, online=False, state="offline")
                payload = self._build("status", offline)
                if payload is not None:
                    await self._publish(client, "status", payload)
                return
            wait = config.status_interval_s - (now - self._last_status_sent)
            if box.frame is not None:
                due_in = frame_every - (now - self._last_frame_sent)
                if due_in <= 0:
                    frame, box.frame = box.frame, None
                    run_id = self._run.run_id if self._run else None
                    build = functools.partial(payloads.frame_payload, config.station, run_id, frame)
                    payload = self._build("frame", build)
                    try:
                        if payload is not None:
                            await self._publish(client, "frame", payload)
                    except BaseException:
                        if box.frame is None:  # not sent, and nothing newer came: keep it
                            box.frame = frame
                        raise
                    self._last_frame_sent = time.monotonic()
                    continue
                wait = min(wait, due_in)
            box.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(box.wake.wait(), max(0.0, wait))
