"""A real mosquitto for the telemetry tests, and runs on the simulated bench that publish to it.

`broker(...)` starts mosquitto on a free loopback port with a generated config - anonymous, with
a password file made by `mosquitto_passwd`, or TLS with a CA and server certificate made here
by the `openssl` CLI - and kills it at the end. `mosquitto_sub` (a client no one here wrote)
listens through `subscriber(...)`. A missing broker or client FAILS with an install hint: these
tests are the acceptance of the telemetry issue and must never silently skip.

Run as a script, this file is one bench publishing (the fleet test starts two and kills one):

    python conftest.py bench --url URL --station NAME --results DIR [--speed S] [--plan FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
DEMO_PLAN = REPO / "test_plans" / "demo.yaml"
INSTALL_HINT = "install it: apt-get install mosquitto mosquitto-clients (.ci/run does this)"
USER, PASSWORD = "bench", "s3cret-Pa55"

SHORT_PLAN = """
# one short point: the set phase, one minute of equilibrium, two of collection
name: short
profile: en14511-3
standard: en14511
operator: tests
unit: {make: NIBE, model: S2125-12, serial: T-1, refrigerant: R290}
defaults:
  water: {delta_t_k: 5}
  timing: {equilibrium_min: 1, collection_min: 2, stabilise_timeout_min: 30, sample_s: 5}
points:
  - id: A7W35
    air: {dry_bulb_c: 7, wet_bulb_c: 6}
    water: {outlet_c: 35}
"""


def tool(name: str) -> str:
    """The path of a command the tests need, or a failed test that says how to get it."""
    found = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.access(p, os.X_OK)), None
    )
    if found is None:
        pytest.fail(f"{name} not found: {INSTALL_HINT}", pytrace=False)
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    cert: Path
    key: Path


def make_tls(folder: Path, name: str = "hpbench test CA") -> TlsFiles:
    """A CA and a server certificate for localhost / 127.0.0.1 signed by it (openssl CLI)."""
    openssl = tool("openssl")
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca, key, csr, cert = (
        folder / n for n in ("ca.key", "ca.crt", "server.key", "server.csr", "server.crt")
    )
    ext = folder / "server.ext"
    ext.write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
        "authorityKeyIdentifier=keyid,issuer\n"
        "subjectKeyIdentifier=hash\n"
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    steps = [
        [
            *(openssl, "req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2"),
            *("-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE"),
            *("-addext", "keyUsage=critical,keyCertSign,cRLSign"),
        ],
        [openssl, "req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=localhost"],
        [
            *(openssl, "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key),
            *("-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext),
        ],
    ]
    for step in steps:
        subprocess.run([str(a) for a in step], check=True, capture_output=True, timeout=30)
    return TlsFiles(ca, cert, key)


class Broker:
    """One mosquitto on 127.0.0.1:<free port>; start, kill -9, restart on the same port."""

    def __init__(
        self, folder: Path, *, users: dict[str, str] | None = None, tls: TlsFiles | None = None
    ) -> None:
        self.folder = folder
        self.port = free_port()
        self.users = users
        self.tls = tls
        self.proc: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)
        self.conf = folder / "mosquitto.conf"
        self.log_path = folder / "mosquitto.log"
        lines = [
            f"user {pwd.getpwuid(os.geteuid()).pw_name}",  # as root: do not drop to `mosquitto`
            "per_listener_settings false",
            "persistence false",  # a restarted broker has forgotten every retained message
            f"listener {self.port} 127.0.0.1",
        ]
        if users:
            passwd = folder / "passwd"
            passwd.write_text("")
            for user, password in users.items():
                subprocess.run(
                    [tool("mosquitto_passwd"), "-b", str(passwd), user, password],
                    check=True,
                    capture_output=True,
                    timeout=30,
                )
            lines += ["allow_anonymous false", f"password_file {passwd}"]
        else:
            lines.append("allow_anonymous true")
        if tls:
            lines += [f"cafile {tls.ca}", f"certfile {tls.cert}", f"keyfile {tls.key}"]
        self.conf.write_text("\n".join(lines) + "\n")

    @property
    def scheme(self) -> str:
        return "mqtts" if self.tls else "mqtt"

    def url(self, user: str | None = None, password: str | None = None) -> str:
        auth = f"{user}:{password}@" if user and password else (f"{user}@" if user else "")
        return f"{self.scheme}://{auth}127.0.0.1:{self.port}"

    def client_args(self, user: str | None = USER, password: str | None = PASSWORD) -> list[str]:
        """Arguments for mosquitto_sub / mosquitto_pub to reach this broker."""
        args = ["-h", "127.0.0.1", "-p", str(self.port)]
        if self.users and user:
            args += ["-u", user, "-P", password or ""]
        if self.tls:
            args += ["--cafile", str(self.tls.ca)]
        return args

    def start(self) -> Broker:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [tool("mosquitto"), "-c", str(self.conf), "-v"], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"mosquitto exited at start:\n{self.log()}", pytrace=False)
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return self
            time.sleep(0.02)
        pytest.fail(f"mosquitto did not listen on {self.port}:\n{self.log()}", pytrace=False)

    def kill(self) -> None:
        """Gone at once, as in a crash: no goodbye to anyone."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Callable[..., Broker]]:
    """`broker(auth=False, tls=False)`: a started mosquitto; killed after the test."""
    started: list[Broker] = []

    def start(*, auth: bool = False, tls: bool = False) -> Broker:
        n = len(started)
        folder = tmp_path / f"mosquitto{n}"
        files = make_tls(folder / "tls") if tls else None
        b = Broker(folder, users={USER: PASSWORD} if auth else None, tls=files).start()
        started.append(b)
        return b

    yield start
    for b in started:
        b.kill()


@dataclass
class Received:
    topic: str
    qos: int
    retained: bool
    body: Any  # the decoded JSON, or the raw text when it is not JSON


class Subscriber:
    """`mosquitto_sub` on a topic filter, its messages collected by a reader thread."""

    def __init__(self, broker: Broker, topics: list[str], *, extra: list[str] | None = None):
        self.broker = broker
        self.messages: list[Received] = []
        self.probe = f"probe/{os.getpid()}/{time.monotonic_ns()}"
        args = [tool("mosquitto_sub"), *broker.client_args(), "-q", "2", "-F", "%t\t%q\t%r\t%p"]
        for topic in [*topics, self.probe]:
            args += ["-t", topic]
        self.proc = subprocess.Popen(
            [*args, *(extra or [])], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            topic, qos, retained, payload = raw.decode().rstrip("\n").split("\t", 3)
            try:
                body: Any = json.loads(payload)
            except ValueError:
                body = payload
            with self._lock:
                self.messages.append(Received(topic, int(qos), retained == "1", body))

    def ready(self, timeout: float = 15.0) -> Subscriber:
        """Publish to our probe topic until we hear it: then the subscription is in place."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            subprocess.run(
                [tool("mosquitto_pub"), *self.broker.client_args(), "-t", self.probe, "-m", "x"],
                capture_output=True,
                timeout=10,
            )
            end = time.monotonic() + 0.5
            while time.monotonic() < end:
                if any(m.topic == self.probe for m in self.snapshot()):
                    return self
                if self.proc.poll() is not None:
                    err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                    pytest.fail(f"mosquitto_sub exited: {err}", pytrace=False)
                time.sleep(0.02)
        pytest.fail("mosquitto_sub never received its probe", pytrace=False)

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.messages)

    def of(self, kind: str) -> list[Received]:
        return [m for m in self.snapshot() if m.topic.endswith(f"/{kind}")]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(5)
        if self.proc.poll() is None:
            self.proc.kill()


@pytest.fixture
def subscriber() -> Iterator[Callable[..., Subscriber]]:
    """`subscriber(broker, ["hpbench/#"])`: mosquitto_sub, ready (its subscription in place)."""
    started: list[Subscriber] = []

    def start(broker: Broker, topics: list[str], **kw: Any) -> Subscriber:
        sub = Subscriber(broker, topics, **kw)
        started.append(sub)
        return sub.ready()

    yield start
    for sub in started:
        sub.close()


@pytest.fixture(scope="session")
def schema_validator() -> Callable[[str, dict[str, Any]], None]:
    """`validate(topic, payload)`: the payload against the repo's schema for that topic."""
    try:
        import jsonschema
    except ImportError:
        pytest.fail("jsonschema is missing: pip install 'jsonschema>=4.18,<5'", pytrace=False)
    from bench.telemetry.payloads import load_schema

    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    whole = jsonschema.Draft202012Validator(schema)

    def validate(topic: str, payload: dict[str, Any]) -> None:
        one = {**schema, "oneOf": None, "$ref": f"#/$defs/{topic}"}
        del one["oneOf"]
        jsonschema.Draft202012Validator(one).validate(payload)
        whole.validate(payload)

    return validate


async def wait_until(predicate: Callable[[], Any], within_s: float = 60.0, what: str = "") -> None:
    """Poll until `predicate()` holds: the tests wait on states, never on fixed sleeps."""
    deadline = time.monotonic() + within_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within_s:g} s: {what or predicate}")
        await asyncio.sleep(0.02)


@pytest.fixture
def until() -> Callable[..., Awaitable[None]]:
    return wait_until


@pytest.fixture
def creds() -> tuple[str, str]:
    """(user, password) that the `broker(auth=True)` password file holds."""
    return USER, PASSWORD


@pytest.fixture
def make_ca(tmp_path: Path) -> Callable[[str], TlsFiles]:
    """`make_ca(name)`: another CA and server certificate (one the broker does not use)."""
    return lambda name: make_tls(tmp_path / name.replace(" ", "-"), name=name)


@pytest.fixture
def short_plan(tmp_path: Path) -> Path:
    path = tmp_path / "short.yaml"
    path.write_text(SHORT_PLAN)
    return path


@dataclass
class BenchRun:
    """A run on the simulated bench, in-process, with a telemetry publisher (or none)."""

    prepared: Any
    engine: Any
    publisher: Any
    log: list[str] = field(default_factory=list)
    phase: Any = None


@contextlib.contextmanager
def prepared_bench(plan: Path, results: Path, *, speed: float) -> Iterator[tuple[Any, Any]]:
    """`hpbench run --sim` without the CLI: prepared run, simulated bench, store, engine."""
    from bench.run.frame import channel_id
    from bench.run.runner import (
        bench_instruments,
        clock_for,
        create_store,
        make_engine,
        prepare_new,
    )

    results.mkdir(parents=True, exist_ok=True)
    prepared, warnings = prepare_new(plan, None, sim=True, speed=speed, results=results)
    clock = clock_for(prepared)
    with bench_instruments(prepared, clock) as instruments:
        channels = {
            channel_id(role, name): unit
            for role, inst in instruments.items()
            for name, unit in inst.channels().items()
        }
        create_store(prepared, channels, warnings)
        engine = make_engine(prepared, instruments, clock)
        try:
            yield prepared, engine
        finally:
            if prepared.store is not None:
                prepared.store.close()


@pytest.fixture
def bench_run(tmp_path: Path) -> Callable[..., Awaitable[BenchRun]]:
    """`await bench_run(config, plan=..., speed=..., during=coro_fn(run))`: a whole run with
    telemetry through `run_with_telemetry`; `during(run)` runs beside it (kill the broker...)."""
    from bench.run.runner import run_engine
    from bench.telemetry.commands import run_with_telemetry
    from bench.telemetry.payloads import RunInfo
    from bench.telemetry.publisher import Publisher

    async def go(
        config: Any,
        *,
        plan: Path = DEMO_PLAN,
        speed: float = 200.0,
        during: Callable[[BenchRun], Awaitable[None]] | None = None,
        limit_s: float = 100.0,
    ) -> BenchRun:
        log: list[str] = []
        with prepared_bench(plan, tmp_path / "results", speed=speed) as (prepared, engine):
            publisher = Publisher(config, log=log.append) if config is not None else None
            run = BenchRun(prepared, engine, publisher, log)
            helper = asyncio.create_task(during(run)) if during else None
            try:
                run.phase = await asyncio.wait_for(
                    run_with_telemetry(
                        config,
                        engine,
                        run_engine(engine, prepared, asyncio.Event()),
                        RunInfo.from_prepared(prepared),
                        publisher=publisher,
                    ),
                    limit_s,
                )
                if helper is not None:
                    await asyncio.wait_for(helper, 30)  # its assertions count too
            finally:
                if helper is not None and not helper.done():
                    helper.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await helper
        return run

    return go


@dataclass
class BenchProcess:
    station: str
    proc: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def bench_process(tmp_path: Path) -> Iterator[Callable[..., BenchProcess]]:
    """`bench_process(url, station)`: a separate process running the demo on its own simulated
    bench and publishing as `station` (this file, run as a script)."""
    started: list[BenchProcess] = []

    def start(url: str, station: str, *, speed: float = 20.0) -> BenchProcess:
        log = tmp_path / f"{station}.log"
        results = tmp_path / f"results-{station}"
        results.mkdir()
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [
                    *(sys.executable, __file__, "bench", "--url", url, "--station", station),
                    *("--results", str(results), "--speed", str(speed)),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=REPO,
            )
        started.append(BenchProcess(station, proc, log))
        return started[-1]

    yield start
    for p in started:
        p.stop()


def _bench_main(argv: list[str]) -> int:
    """One bench publishing until its run ends or SIGTERM (then it says goodbye)."""
    from bench.run.runner import run_engine
    from bench.telemetry.commands import run_with_telemetry
    from bench.telemetry.config import TelemetrySettings, resolve
    from bench.telemetry.payloads import RunInfo

    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["bench"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--station", required=True)
    parser.add_argument("--results", required=True)
    parser.add_argument("--speed", type=float, default=20.0)
    parser.add_argument("--plan", default=str(DEMO_PLAN))
    args = parser.parse_args(argv)
    settings = TelemetrySettings(frame_rate_hz=4, status_interval_s=1)
    config = resolve(settings, station=args.station, mqtt_url=args.url)

    async def main() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        with prepared_bench(Path(args.plan), Path(args.results), speed=args.speed) as (p, e):
            await run_with_telemetry(
                config,
                e,
                run_engine(e, p, stop),
                RunInfo.from_prepared(p),
                log=lambda line: print(line, flush=True),
            )

    asyncio.run(main())
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    raise SystemExit(_bench_main(sys.argv[1:]))
