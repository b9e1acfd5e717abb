"""Connecting a station's instruments: concurrently, with every failure reported together."""

from __future__ import annotations

import asyncio

from instruments.base import Identity, Instrument, InstrumentError


class ConnectFailed(Exception):
    """At least one instrument could not be reached; str() has one line per failure."""


def reason(exc: BaseException) -> str:
    """The error without the instrument prefix (the caller names the instrument itself)."""
    if isinstance(exc, InstrumentError):
        text = str(exc)
        return text.split(": ", 1)[1] if exc.instrument and ": " in text else text
    return f"{type(exc).__name__}: {exc}"


async def connect_all(instruments: dict[str, Instrument]) -> dict[str, Identity]:
    async def one(inst: Instrument) -> Identity:
        await inst.connect()
        return await inst.identify()

    results = await asyncio.gather(*(one(i) for i in instruments.values()), return_exceptions=True)
    failures = [
        f"{role} at {inst.address}: {reason(res)}"
        for (role, inst), res in zip(instruments.items(), results, strict=True)
        if isinstance(res, BaseException)
    ]
    if failures:
        await close_all(instruments)
        raise ConnectFailed("\n".join(failures))
    return dict(zip(instruments, results, strict=True))  # type: ignore[arg-type]


async def close_all(instruments: dict[str, Instrument]) -> None:
    await asyncio.gather(*(i.close() for i in instruments.values()), return_exceptions=True)
