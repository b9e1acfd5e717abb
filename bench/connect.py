"""Connecting a station's instruments: concurrently, with every failure reported together.

Connected means answered: every driver's `identify()` exchanges something with the instrument
(identity registers, or a read of a known register where a map has none), bounded by a
deadline. An instrument that does not answer is tried again a few times with a growing pause
(a link that drops for a second at the start does not refuse the run)."""

from __future__ import annotations

import asyncio

from instruments.base import Identity, Instrument, InstrumentError

CONNECT_ATTEMPTS = 3
CONNECT_BACKOFF_S = 0.5  # wall seconds before the second attempt; doubled for the third
CONNECT_DEADLINE_S = 20.0  # wall seconds for one attempt (connect + identify), at most


class ConnectFailed(Exception):
    """At least one instrument could not be reached; str() has one line per failure."""


def reason(exc: BaseException) -> str:
    """The error without the instrument prefix (the caller names the instrument itself)."""
    if isinstance(exc, InstrumentError):
        text = str(exc)
        return text.split(": ", 1)[1] if exc.instrument and ": " in text else text
    if isinstance(exc, TimeoutError):
        return f"no answer within {CONNECT_DEADLINE_S:g} s"
    return f"{type(exc).__name__}: {exc}"


async def _one(inst: Instrument) -> Identity:
    async with asyncio.timeout(CONNECT_DEADLINE_S):
        await inst.connect()
        return await inst.identify()


async def connect_all(
    instruments: dict[str, Instrument],
    *,
    attempts: int = CONNECT_ATTEMPTS,
    backoff_s: float = CONNECT_BACKOFF_S,
) -> dict[str, Identity]:
    found: dict[str, Identity] = {}
    errors: dict[str, BaseException] = {}
    for attempt in range(attempts):
        if attempt:
            await asyncio.sleep(backoff_s * 2 ** (attempt - 1))
        todo = [role for role in instruments if role not in found]
        results = await asyncio.gather(
            *(_one(instruments[role]) for role in todo), return_exceptions=True
        )
        errors = {}
        for role, res in zip(todo, results, strict=True):
            if isinstance(res, Identity):
                found[role] = res
            elif isinstance(res, Exception):
                errors[role] = res
                await instruments[role].close()  # a half-open session is not reused
            else:
                raise res  # cancelled: not an instrument's failure
        if not errors:
            return {role: found[role] for role in instruments}
    await close_all(instruments)
    raise ConnectFailed(
        "\n".join(
            f"{role} at {instruments[role].address}: {reason(exc)} (tried {attempts} times)"
            for role, exc in errors.items()
        )
    )


async def close_all(instruments: dict[str, Instrument]) -> None:
    await asyncio.gather(*(i.close() for i in instruments.values()), return_exceptions=True)
