"""Telemetry settings: the broker URL, the station file's `[telemetry]` table, and credentials.

`mqtt[s]://[user[:password]@]host[:port]` names the broker (`mqtts` is TLS, port 8883 by
default; `mqtt` is 1883). The `[telemetry]` table of a station file adds the rest: topic
prefix, frame rate, QoS per topic, TLS files, and whether a run may start without telemetry.
`--mqtt URL` on the command line replaces the table's `url`.

Credentials never appear in a repr, a str, an error message or a log line: passwords are kept
as `SecretStr`, URLs are shown without them, pydantic errors are formatted without the input,
and `redact_station_text` takes them out of the station text a run stores.
"""

from __future__ import annotations

import os
import re
import ssl
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from bench.tomlpos import toml_line, validation_messages

SCHEMES = {"mqtt": (False, 1883), "mqtts": (True, 8883)}
TOPICS = ("status", "frame", "point", "event", "run")
PASSWORD_ENV = "HPBENCH_MQTT_PASSWORD"  # used when no password is given any other way
USERNAME_ENV = "HPBENCH_MQTT_USERNAME"
REDACTED = "<redacted>"
_TOPIC_LEVEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_URL_SHAPE = "mqtt[s]://[user[:password]@]host[:port]"


class TelemetryConfigError(ValueError):
    """Telemetry settings that cannot be used; str() is one line per problem, no secrets."""


def redact_url(text: str) -> str:
    """The URL as it may be shown: any password in it replaced."""
    return re.sub(r"(//[^/@:]*):[^/@]*@", rf"\1:{REDACTED}@", text)


@dataclass(frozen=True)
class BrokerUrl:
    """Where the broker is. `str()` and `repr()` never show the password."""

    tls: bool
    host: str
    port: int
    username: str | None = None
    password: SecretStr | None = field(default=None, compare=False)

    def __str__(self) -> str:
        user = f"{self.username}@" if self.username else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{host}:{self.port}"

    def __repr__(self) -> str:
        return f"BrokerUrl({str(self)!r})"


def parse_url(text: str) -> BrokerUrl:
    """Parse `mqtt[s]://[user[:password]@]host[:port]`. User and password may be %-encoded.

    A password written as the redaction marker (a stored, redacted station file) counts as
    none, so the environment can supply it.
    """
    shown = redact_url(text.strip())
    problem = f"not a broker URL {shown!r}: expected {_URL_SHAPE}"
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        raise TelemetryConfigError(problem) from None
    if parts.scheme not in SCHEMES:
        raise TelemetryConfigError(f"{problem} (scheme must be mqtt or mqtts)")
    if not parts.hostname:
        raise TelemetryConfigError(f"{problem} (no host)")
    if port == 0:
        raise TelemetryConfigError(f"{problem} (port 1-65535)")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise TelemetryConfigError(f"{problem} (no path, query or fragment)")
    tls, default_port = SCHEMES[parts.scheme]
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password in (REDACTED, ""):
        password = None
    return BrokerUrl(
        tls=tls,
        host=parts.hostname,
        port=port or default_port,
        username=username,
        password=SecretStr(password) if password is not None else None,
    )


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


QoS = Literal[0, 1, 2]


class QosSettings(_Strict):
    """QoS per topic. Defaults: status, point, event and run at least once; frames at most once
    (the next one is a second away, and a lost frame is still in the run store)."""

    status: QoS = 1
    frame: QoS = 0
    point: QoS = 1
    event: QoS = 1
    run: QoS = 1


class TelemetrySettings(_Strict):
    """The `[telemetry]` table of a station file, as written."""

    enabled: bool = True
    url: str | None = None  # mqtt[s]://[user@]host[:port]; a password here is better in the env
    topic_prefix: str = "hpbench"
    station_id: str | None = None  # the topic level of this bench; default: [station].name
    # frames per wall second at most; frames in between are skipped (all are in the run store)
    frame_rate_hz: float = Field(default=1.0, gt=0, le=100)
    status_interval_s: float = Field(default=5.0, ge=0.2, le=3600)  # retained status heartbeat
    qos: QosSettings = QosSettings()
    ca_file: str | None = None  # TLS: the CA that signed the broker's certificate
    cert_file: str | None = None  # TLS client certificate (optional)
    key_file: str | None = None
    username: str | None = None
    password: SecretStr | None = None  # kept out of stored station text; prefer password_env
    password_env: str | None = None  # name of the environment variable holding the password
    required: bool = False  # true: a run refuses to start when the broker refuses or is unreachable
    keepalive_s: int = Field(default=15, ge=5, le=600)
    outbox_size: int = Field(default=1000, ge=10, le=1_000_000)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None:
            parse_url(value)  # raises with a redacted message
        return value

    @field_validator("topic_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        levels = value.split("/")
        if not value or any(not _TOPIC_LEVEL.match(level) for level in levels):
            raise ValueError(
                f"{value!r}: topic levels of letters, digits and _ . - separated by /, "
                "no wildcards, no leading or trailing /"
            )
        return value

    @field_validator("station_id")
    @classmethod
    def _station_id(cls, value: str | None) -> str | None:
        if value is not None and not _TOPIC_LEVEL.match(value):
            raise ValueError(f"{value!r}: up to 64 letters, digits and _ . - (one topic level)")
        return value

    @field_validator("password_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            raise ValueError(f"{value!r} is not an environment variable name")
        return value


@dataclass(frozen=True)
class TelemetryConfig:
    """Everything the publisher needs, resolved: broker, credentials, topics, TLS."""

    broker: BrokerUrl
    station: str  # the topic level: <prefix>/<station>/...
    prefix: str = "hpbench"
    frame_rate_hz: float = 1.0
    status_interval_s: float = 5.0
    qos: Mapping[str, int] = field(default_factory=lambda: QosSettings().model_dump())
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    required: bool = False
    keepalive_s: int = 15
    outbox_size: int = 1000
    timeout_s: float = 5.0  # connect, CONNACK and PUBACK waits (wall seconds)

    def __post_init__(self) -> None:
        if self.broker.password is not None and not self.broker.username:
            raise TelemetryConfigError(f"{self.broker}: a password needs a user name")
        if (self.ca_file or self.cert_file) and not self.broker.tls:
            raise TelemetryConfigError(
                f"{self.broker}: TLS files given, but the URL is not mqtts://"
            )

    def topic(self, name: str) -> str:
        return f"{self.prefix}/{self.station}/{name}"

    def tls_context(self) -> ssl.SSLContext | None:
        """The TLS context (loads the files now: call before the run, not on its path)."""
        if not self.broker.tls:
            return None
        try:
            context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
            if self.cert_file:
                context.load_cert_chain(
                    str(self.cert_file), str(self.key_file) if self.key_file else None
                )
        except (OSError, ssl.SSLError) as exc:
            raise TelemetryConfigError(f"{self.broker}: TLS files: {exc}") from None
        return context

    def __repr__(self) -> str:
        return (
            f"TelemetryConfig(broker={self.broker!r}, station={self.station!r}, "
            f"prefix={self.prefix!r}, required={self.required})"
        )


def settings_from_station_text(text: str, path: str) -> TelemetrySettings | None:
    """The station file's `[telemetry]` table, or None when it has none."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TelemetryConfigError(f"{path}: not valid TOML: {exc}") from None
    table = raw.get("telemetry")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise TelemetryConfigError(f"{path}:{toml_line(text, ['telemetry'])}: telemetry: a table")
    try:
        return TelemetrySettings.model_validate(table)
    except ValidationError as exc:
        raise TelemetryConfigError(
            validation_messages(path, text, exc, prefix=("telemetry",))
        ) from None


def _station_name(text: str) -> str | None:
    try:
        name = tomllib.loads(text).get("station", {}).get("name")
    except (tomllib.TOMLDecodeError, AttributeError):
        return None
    return name if isinstance(name, str) else None


def resolve(
    settings: TelemetrySettings | None,
    *,
    station: str,
    mqtt_url: str | None = None,
    env: Mapping[str, str] | None = None,
    base_dir: Path | None = None,
) -> TelemetryConfig | None:
    """The telemetry of a run, or None when it has none (no `--mqtt`, no enabled table).

    The password comes from, in order: the URL, the table's `password`, the variable named by
    `password_env`, then HPBENCH_MQTT_PASSWORD. The user name from the URL, the table, then
    HPBENCH_MQTT_USERNAME. Relative TLS file paths are relative to `base_dir` (the station
    file's folder).
    """
    env = os.environ if env is None else env
    settings = settings or TelemetrySettings()
    url = mqtt_url or (settings.url if settings.enabled else None)
    if not url:
        if settings.required and settings.enabled:
            raise TelemetryConfigError(
                "telemetry.required is true, but no broker is given: set telemetry.url or --mqtt"
            )
        return None
    broker = parse_url(url)
    username = broker.username or settings.username or env.get(USERNAME_ENV) or None
    password: str | None = None
    if broker.password is not None:
        password = broker.password.get_secret_value()
    elif settings.password is not None and settings.password.get_secret_value() != REDACTED:
        password = settings.password.get_secret_value()
    elif settings.password_env:
        if settings.password_env not in env:
            raise TelemetryConfigError(
                f"telemetry.password_env: the environment has no {settings.password_env}"
            )
        password = env[settings.password_env]
    elif username and env.get(PASSWORD_ENV):
        password = env[PASSWORD_ENV]
    base = base_dir or Path.cwd()

    def file(value: str | None) -> Path | None:
        if value is None:
            return None
        p = Path(value).expanduser()
        return p if p.is_absolute() else base / p

    station_id = settings.station_id or station
    if not _TOPIC_LEVEL.match(station_id):
        raise TelemetryConfigError(f"station name {station_id!r} cannot be a topic level")
    return TelemetryConfig(
        broker=BrokerUrl(
            broker.tls,
            broker.host,
            broker.port,
            username,
            SecretStr(password) if password is not None else None,
        ),
        station=station_id,
        prefix=settings.topic_prefix,
        frame_rate_hz=settings.frame_rate_hz,
        status_interval_s=settings.status_interval_s,
        qos=settings.qos.model_dump(),
        ca_file=file(settings.ca_file),
        cert_file=file(settings.cert_file),
        key_file=file(settings.key_file),
        required=settings.required and settings.enabled,
        keepalive_s=settings.keepalive_s,
        outbox_size=settings.outbox_size,
    )


def load_telemetry(
    station_text: str,
    station_path: str,
    *,
    mqtt_url: str | None = None,
    env: Mapping[str, str] | None = None,
) -> TelemetryConfig | None:
    """`[telemetry]` of a station file plus `--mqtt`, resolved; None when telemetry is off."""
    settings = settings_from_station_text(station_text, station_path)
    station = _station_name(station_text) or "bench"
    path = Path(station_path)
    return resolve(
        settings,
        station=station,
        mqtt_url=mqtt_url,
        env=env,
        base_dir=path.parent if path.is_file() else None,  # not for a run's stored text
    )


_KEY_LINE = re.compile(
    r"""^(?P<head>\s*(?P<dotted>telemetry\s*\.\s*)?(?P<key>password|url)\s*=\s*)"""
    r"""(?P<value>"(?:[^"\\]|\\.)*"|'[^']*')(?P<tail>.*)$"""
)
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*(@)")


def redact_station_text(text: str) -> str:
    """The station text with the telemetry password (inline or in the URL) replaced, for
    storing in a run: everything else stays as written, line for line. What cannot be
    redacted in place (an inline table, a multi-line string) drops the table's lines."""
    if not _holds_secrets(text):
        return text
    out, inside = [], False
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if stripped.startswith("["):
            inside = stripped.startswith(("[telemetry]", "[telemetry."))
        m = _KEY_LINE.match(line.rstrip("\r\n"))
        if m and (inside or m["dotted"]):
            quote = m["value"][0]
            if m["key"] == "password":
                value = f"{quote}{REDACTED}{quote}"
            else:
                value = _URL_PASSWORD.sub(rf"\1{REDACTED}\2", m["value"])
            ending = line[len(line.rstrip("\r\n")) :]
            line = f"{m['head']}{value}{m['tail']}{ending}"
        out.append(line)
    redacted = "".join(out)
    if _holds_secrets(redacted):
        redacted = _drop_telemetry_lines(text)
        if _holds_secrets(redacted):
            return "# station text withheld: its [telemetry] table held credentials\n"
    return redacted


def _holds_secrets(text: str) -> bool:
    """True when the text does not parse, or its [telemetry] still has a password."""
    try:
        table = tomllib.loads(text).get("telemetry")
    except tomllib.TOMLDecodeError:
        return "telemetry" in text and "password" in text
    if not isinstance(table, dict):
        return table is not None
    if table.get("password") not in (None, REDACTED):
        return True
    url = table.get("url")
    if isinstance(url, str):
        try:
            password = urlsplit(url).password
        except ValueError:
            return True
        return password is not None and unquote(password) != REDACTED
    return False


def _drop_telemetry_lines(text: str) -> str:
    lines, out, inside = text.splitlines(keepends=True), [], False
    for line in lines:
        header = line.strip()
        if header.startswith("["):
            inside = header.startswith(("[telemetry]", "[telemetry."))
            if inside:
                out.append("# [telemetry] removed here: it held credentials\n")
                continue
        if inside or line.lstrip().startswith("telemetry"):
            continue
        out.append(line)
    return "".join(out)


def as_dict(config: TelemetryConfig) -> dict[str, Any]:
    """What may be shown or stored about the telemetry of a run (no secrets)."""
    return {
        "broker": str(config.broker),
        "topics": f"{config.prefix}/{config.station}/",
        "frame_rate_hz": config.frame_rate_hz,
        "qos": dict(config.qos),
        "tls": config.broker.tls,
        "required": config.required,
    }
