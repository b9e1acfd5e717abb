"""The station's `[lab]` table and how a database URL gets its password.

The password never sits in the station file (it is copied into every run's store): it comes
from the variable named by `password_env`, then HPBENCH_LAB_PASSWORD, then libpq's own
PGPASSWORD / ~/.pgpass.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

PASSWORD_ENV = "HPBENCH_LAB_PASSWORD"


class LabConfigError(Exception):
    """A database URL or setting that cannot work; str() is one line."""


def check_url(url: str) -> str:
    """A postgresql:// URL with a host and no password in it (returned unchanged)."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise LabConfigError(f"{redact(url)}: scheme must be postgresql://")
    if parts.password is not None:
        raise LabConfigError(
            f"{redact(url)}: no password in the URL; put it in the environment "
            f"({PASSWORD_ENV}, or the variable named by lab.password_env)"
        )
    return url


def redact(url: str) -> str:
    """The URL without its password, for messages and the outbox."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


class LabSettings(BaseModel):
    """`[lab]`: sync each finished run to the lab database, through the results dir's outbox."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    database: str = Field(min_length=1)  # postgresql://user@host[:port]/db
    password_env: str | None = None
    enabled: bool = True
    retry_initial_s: float = Field(default=5.0, gt=0)  # back-off of the outbox, doubled per try
    retry_max_s: float = Field(default=600.0, gt=0)
    max_attempts: int = Field(default=50, ge=1)  # then the entry is `failed` until drained by hand

    @field_validator("database")
    @classmethod
    def _url(cls, value: str) -> str:
        try:
            return check_url(value)
        except LabConfigError as exc:
            raise ValueError(str(exc)) from None


def connection_kwargs(
    url: str, password_env: str | None = None, env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """What psycopg.connect needs beyond the URL: the password, when the environment has one."""
    env = os.environ if env is None else env
    if password_env:
        if password_env not in env:
            raise LabConfigError(f"lab.password_env: the environment has no {password_env}")
        return {"password": env[password_env]}
    if env.get(PASSWORD_ENV):
        return {"password": env[PASSWORD_ENV]}
    return {}
