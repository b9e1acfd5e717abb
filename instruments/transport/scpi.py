"""A message-based instrument as a declaration: its terminations, setup and error query.

A new SCPI-like driver subclasses `ScpiInstrument`, says how it is set up (`setup_commands`,
replayed on every reconnect), how the instrument reports a refused command (`errors`) and how
one read goes (`exchange_read`); the session (thread, lock, reconnect, error mapping) is
shared. See docs/instruments.md "Adding an instrument".
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from instruments.base import Identity, ProtocolError, Reading, WriteRefused
from instruments.transport.session import LineSession

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
SENTINEL = 9.9e37  # |x| at or above: a sentinel on WT, Keysight and most SCPI meters (§1.2, §1.6)
NO_DATA = 9.91e37


def decode_number(token: str, unit: str) -> Reading:
    """One ASCII number as a Reading: NAN / INF and the 9.9E+37 family become INVALID.

    Raises ValueError for anything that is neither a number nor a sentinel; the regex is
    stricter than float(), which would take "1_0" or "infinity" from a garbled line.
    """
    text = token.strip()
    upper = text.lstrip("+-").upper()
    if upper == "NAN":
        return Reading.invalid(unit, "no data (NAN)")
    if upper == "INF":
        return Reading.invalid(unit, "over-range (INF)")
    if not _NUMBER.fullmatch(text):
        raise ValueError(f"not a number: {token!r}")
    value = float(text)
    if abs(value) >= SENTINEL:
        if math.isclose(abs(value), NO_DATA, rel_tol=5e-4):
            return Reading.invalid(unit, f"no data ({text})")
        return Reading.invalid(unit, f"over-range ({text})")
    return Reading.ok(value, unit)


@dataclass(frozen=True)
class ErrorQueue:
    """`<code>,"<text>"` from a query such as SYST:ERR? (0 = no error)."""

    query: str = "SYST:ERR?"

    def problem(self, s: LineSession) -> str | None:
        reply = s.query(self.query)
        code, sep, _ = reply.partition(",")
        if not sep or not re.fullmatch(r"[+-]?\d+", code.strip(), re.ASCII):  # int() takes "٣"
            raise s.error(ProtocolError, f"{self.query} answered {reply!r}")
        return None if int(code) == 0 else reply


@dataclass(frozen=True)
class EventStatus:
    """IEEE 488.2 *ESR?: bits 2..5 (query, device, execution, command error) mean refused."""

    query: str = "*ESR?"
    mask: int = 0b0011_1100

    def problem(self, s: LineSession) -> str | None:
        reply = s.query(self.query)
        if not re.fullmatch(r"[+]?\d{1,3}", reply):
            raise s.error(ProtocolError, f"{self.query} answered {reply!r}")
        value = int(reply)
        return None if value & self.mask == 0 else f"{self.query} = {value}"


class ScpiInstrument:
    """Common body: lifecycle, identity, checked settings; subclasses declare the rest."""

    role: ClassVar[str] = ""
    read_termination: ClassVar[str] = "\n"
    write_termination: ClassVar[str] = "\n"
    encoding: ClassVar[str] = "ascii"
    errors: ClassVar[ErrorQueue | EventStatus] = ErrorQueue()

    def __init__(
        self,
        name: str,
        address: str,
        *,
        timeout_s: float = 2.0,
        visa_library: str = "@py",
    ) -> None:
        self.name = name
        self.address = address
        self.session = LineSession(
            name,
            address,
            setup=self._setup,
            read_termination=self.read_termination,
            write_termination=self.write_termination,
            encoding=self.encoding,
            timeout_s=timeout_s,
            visa_library=visa_library,
        )

    @property
    def timeout_s(self) -> float:
        return self.session.timeout_s

    @timeout_s.setter
    def timeout_s(self, seconds: float) -> None:
        """Takes effect on the next (re)connect."""
        self.session.timeout_s = seconds

    # -- the declaration -------------------------------------------------------------------
    def setup_commands(self) -> Sequence[str]:
        """Sent in order on every (re)connect, then the error check."""
        return ()

    def channels(self) -> dict[str, str]:
        raise NotImplementedError

    def exchange_read(self, s: LineSession) -> dict[str, Reading]:
        raise NotImplementedError

    # -- the role --------------------------------------------------------------------------
    async def connect(self) -> None:
        await self.session.open()

    async def close(self) -> None:
        await self.session.close()

    async def identify(self) -> Identity:
        def exchange(s: LineSession) -> Identity:
            reply = s.query("*IDN?")
            parts = [p.strip() for p in reply.split(",")]
            if len(parts) != 4 or not all(parts[:2]):
                raise s.error(ProtocolError, f"*IDN? answered {reply!r}")
            return Identity(*parts)

        return await self.session.call(exchange)

    async def read(self) -> dict[str, Reading]:
        return await self.session.call(self.exchange_read)

    async def send(self, *commands: str) -> None:
        """Settings, each checked against the error report: a refusal is WriteRefused."""

        def exchange(s: LineSession) -> None:
            for command in commands:
                self.checked(s, command)

        await self.session.call(exchange)

    # -- helpers for subclasses (worker thread) -----------------------------------------------
    def _setup(self, s: LineSession) -> None:
        for command in self.setup_commands():
            s.write(command)
        problem = self.errors.problem(s)
        if problem is not None:
            raise s.error(ProtocolError, f"setup refused: {problem}")

    def checked(self, s: LineSession, command: str) -> None:
        s.write(command)
        problem = self.errors.problem(s)
        if problem is not None:
            raise s.error(WriteRefused, f"{command} refused: {problem}")

    @staticmethod
    def split_values(
        s: LineSession, reply: str, expected: int, what: str, separator: str = ","
    ) -> list[str]:
        tokens = reply.split(separator)
        if len(tokens) != expected:
            raise s.error(
                ProtocolError, f"{what}: expected {expected} values, got {len(tokens)}: {reply!r}"
            )
        return tokens

    @staticmethod
    def decode_all(
        s: LineSession,
        tokens: Sequence[str],
        units: Sequence[str],
        names: Sequence[str],
        reply: str,
    ) -> dict[str, Reading]:
        try:
            return {n: decode_number(t, u) for n, t, u in zip(names, tokens, units, strict=True)}
        except ValueError as exc:
            raise s.error(ProtocolError, f"{exc} in {reply[:120]!r}") from None
