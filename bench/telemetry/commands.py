"""What the `hpbench` commands call for telemetry: `--mqtt`, the run hook, `hpbench fleet`.

    # hpbench run / tui, before the run (no event loop running yet):
    telemetry = telemetry_for_run(args.mqtt, prepared.station_text, station_path)
        # raises TelemetryUnavailable (one line: print it, exit 2) for bad settings, or when the
        # station says `required = true` and the broker refuses us or cannot be reached
    # inside the loop, instead of `await run_engine(engine, prepared, stop)`:
    phase = await run_with_telemetry(
        telemetry, engine, run_engine(engine, prepared, stop), RunInfo.from_prepared(prepared)
    )

This module imports nothing from the run engine: the engine and the run coroutine are passed
in, so `run -> telemetry` stays the only direction.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Awaitable, Mapping
from typing import Any, TypeVar

from bench.telemetry.config import (
    TelemetryConfig,
    TelemetryConfigError,
    TelemetrySettings,
    load_telemetry,
    resolve,
)
from bench.telemetry.payloads import RunInfo

T = TypeVar("T")
EXIT_OK, EXIT_BAD_INPUT = 0, 2
MQTT_HELP = (
    "publish telemetry to this MQTT broker: mqtt[s]://[user@]host[:port] (the password from "
    "HPBENCH_MQTT_PASSWORD; overrides the station's [telemetry] url)"
)


class TelemetryUnavailable(Exception):
    """Telemetry cannot be used as asked; str() is one line, without credentials."""


def add_mqtt_argument(parser: argparse.ArgumentParser) -> None:
    """`--mqtt URL` for `hpbench run` and `hpbench tui`. A plain string: the URL is parsed
    (and any password redacted in messages) by `telemetry_for_run`, not by argparse."""
    parser.add_argument("--mqtt", metavar="URL", default=None, help=MQTT_HELP)


def telemetry_for_run(
    mqtt_url: str | None,
    station_text: str,
    station_path: str,
    *,
    env: Mapping[str, str] | None = None,
) -> TelemetryConfig | None:
    """The run's telemetry (None: none). Checks TLS files now; with `required = true`, also
    connects once to the broker. Call it with no event loop running (it may use asyncio.run)."""
    try:
        config = load_telemetry(station_text, station_path, mqtt_url=mqtt_url, env=env)
        if config is None:
            return None
        tls = config.tls_context()
    except TelemetryConfigError as exc:
        raise TelemetryUnavailable(f"telemetry: {exc}") from None
    if config.required:
        from bench.telemetry.publisher import TelemetryRefused, check_broker

        try:
            asyncio.run(check_broker(config, tls=tls))
        except TelemetryRefused as exc:
            raise TelemetryUnavailable(
                f"telemetry is required by the station, but {exc}; not starting"
            ) from None
    return config


async def run_with_telemetry(
    config: TelemetryConfig | None,
    engine: Any,
    run: Awaitable[T],
    info: RunInfo | None,
    *,
    log: Any = None,
    publisher: Any = None,
) -> T:
    """Await `run` (the engine's run) with a publisher attached to `engine`; without config,
    just await it. The publisher (made from `config`, or the given, not yet started one) is
    attached before the run starts and closed after it ends, however it ends; closing takes
    at most a few seconds, even with the broker gone."""
    if config is None and publisher is None:
        return await run
    if publisher is None:
        from bench.telemetry.publisher import Publisher

        publisher = Publisher(config, log=log)
    publisher.attach(engine, info)
    await publisher.start()
    phase: Any = None
    try:
        phase = await run
        return phase
    finally:
        await publisher.close(str(phase) if phase is not None else None)


# -- hpbench fleet ---------------------------------------------------------------------------


def add_fleet_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mqtt",
        metavar="URL",
        required=True,
        help="the lab's broker: mqtt[s]://[user@]host[:port] (password: HPBENCH_MQTT_PASSWORD)",
    )
    parser.add_argument("--prefix", default="hpbench", help="topic prefix (default hpbench)")
    parser.add_argument("--ca-file", metavar="FILE", help="CA certificate for mqtts://")
    parser.add_argument(
        "--db", metavar="URL", help="the lab database (postgresql://...): each bench's last sync"
    )


def cmd_fleet(args: argparse.Namespace) -> int:
    return fleet_command(args.mqtt, prefix=args.prefix, ca_file=args.ca_file, db=args.db)


def fleet_config(
    url: str,
    *,
    prefix: str = "hpbench",
    ca_file: str | None = None,
    env: Mapping[str, str] | None = None,
) -> TelemetryConfig:
    settings = TelemetrySettings(topic_prefix=prefix, ca_file=ca_file)
    config = resolve(settings, station="fleet", mqtt_url=url, env=env)
    assert config is not None
    return config


def fleet_command(
    url: str,
    *,
    prefix: str = "hpbench",
    ca_file: str | None = None,
    env: Mapping[str, str] | None = None,
    db: str | None = None,
) -> int:
    """`hpbench fleet --mqtt URL`: every bench on the broker, live. Exit 2 with one line when
    the URL is bad or the broker refuses us or cannot be reached at start."""
    import sys

    from bench.telemetry.publisher import TelemetryRefused, check_broker

    try:
        config = fleet_config(url, prefix=prefix, ca_file=ca_file, env=env or os.environ)
        tls = config.tls_context()
        asyncio.run(check_broker(config, tls=tls))
    except (TelemetryConfigError, TelemetryRefused) as exc:
        print(f"hpbench fleet: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    from bench.telemetry.fleet import FleetApp

    FleetApp(config, tls=tls, db=db).run()
    return EXIT_OK
