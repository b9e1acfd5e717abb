"""MQTT telemetry: a bench publishes its status, frames, points, events and runs; the fleet
view watches every bench on a broker. Topics, QoS and payloads: docs/telemetry.md.

    config     broker URL, the station file's [telemetry] table, credentials (never shown)
    payloads   the JSON of each topic, schema `hpbench.telemetry/1` (schema/telemetry-1.schema.json)
    publisher  Publisher: bounded outbox beside the engine, reconnects with backoff (aiomqtt)
    fleet      the `hpbench fleet` Textual app and its subscriber
    commands   what `hpbench run / tui / fleet` call

Importing this package does not import aiomqtt or textual.
"""

from bench.telemetry.config import (
    BrokerUrl,
    TelemetryConfig,
    TelemetryConfigError,
    TelemetrySettings,
    load_telemetry,
    parse_url,
    redact_station_text,
)
from bench.telemetry.payloads import SCHEMA, RunInfo

__all__ = [
    "SCHEMA",
    "BrokerUrl",
    "RunInfo",
    "TelemetryConfig",
    "TelemetryConfigError",
    "TelemetrySettings",
    "load_telemetry",
    "parse_url",
    "redact_station_text",
]
