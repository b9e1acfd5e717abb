"""One line-oriented instrument session: worker thread, one lock, reconnect, setup replay.

What the WT300 driver does by hand (docs/protocols.md §5.2), once for every message-based
instrument: the blocking link (pyvisa) runs in a worker thread via `asyncio.to_thread`, one
exchange at a time per instrument, so the event loop never blocks. Any failed exchange drops
the link; the next call opens a fresh one and replays the setup, so a link that comes back
brings the driver back with it. A refused setting (`WriteRefused`) keeps the link: the
instrument said no, the wire is fine (a driver may name more such errors: `keeps_link_on`).
A serial line has no connection to make: with `on_demand` a call opens the link whether or
not `open()` was called, and after `close()` the next call opens it again.

Failures come out as the `InstrumentError` family of `instruments/base.py`: no reply in time
-> `InstrumentTimeout`, link down -> `ConnectionLost`, a reply the protocol does not allow
(not text, unterminated, wrong shape) -> `ProtocolError`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TypeVar

from instruments.base import ConnectionLost, InstrumentError, ProtocolError, WriteRefused
from instruments.transport.link import Link, VisaLink

T = TypeVar("T")
LinkOpener = Callable[[], Link]


class LineSession:
    """Text commands and one-line replies over a `Link`, safe to call from the event loop."""

    def __init__(
        self,
        name: str,
        address: str,
        *,
        setup: Callable[[LineSession], None],
        read_termination: str = "\n",
        write_termination: str = "\n",
        encoding: str = "ascii",
        timeout_s: float = 2.0,
        visa_library: str = "@py",
        keeps_link_on: tuple[type[InstrumentError], ...] = (WriteRefused,),
        on_demand: bool = False,
    ) -> None:
        self.name = name
        self.address = address
        self.read_termination = read_termination
        self.write_termination = write_termination
        self.encoding = encoding
        self.timeout_s = timeout_s
        self._setup = setup
        self._keeps_link_on = keeps_link_on
        self._open_link: LinkOpener = lambda: VisaLink(
            address,
            read_termination=read_termination,
            write_termination=write_termination,
            timeout_s=self.timeout_s,  # as it is when the link opens: a driver may change it
            visa_library=visa_library,
            error=self.error,
        )
        self._link: Link | None = None
        self._wanted = on_demand
        self._on_demand = on_demand
        self._lock = asyncio.Lock()
        # a cancelled caller releases the asyncio lock while its thread still talks; this keeps
        # the next thread off the link until that one is done
        self._thread_lock = threading.Lock()

    def use_link(self, open_link: LinkOpener) -> None:
        """Open another kind of link instead of VISA (the in-memory exchange tests do)."""
        self._open_link = open_link

    # -- lifecycle -------------------------------------------------------------------------
    async def open(self, check: Callable[[LineSession], object] = lambda _: None) -> None:
        """Open a fresh link, set it up, then run `check` (a query only connect() makes)."""
        self._wanted = True
        await self.call(check, fresh=True)

    async def close(self) -> None:
        self._wanted = self._on_demand
        async with self._lock:
            await asyncio.to_thread(self._locked_drop)

    async def call(self, exchange: Callable[[LineSession], T], *, fresh: bool = False) -> T:
        """Run `exchange(self)` in the worker thread with the link open and set up."""
        if not self._wanted:
            raise self.error(ConnectionLost, "not connected (connect() was not called)")
        async with self._lock:
            return await asyncio.to_thread(self._run, exchange, fresh)

    def _run(self, exchange: Callable[[LineSession], T], fresh: bool) -> T:
        with self._thread_lock:
            try:
                if fresh or self._link is None or getattr(self._link, "peer_gone", None):
                    self._connect()
                return exchange(self)
            except InstrumentError as exc:
                if not isinstance(exc, self._keeps_link_on):
                    self._drop()
                raise

    def _connect(self) -> None:
        self._drop()
        self._link = self._open_link()
        self._setup(self)

    def _drop(self) -> None:
        link, self._link = self._link, None
        if link is not None:
            link.close()

    def _locked_drop(self) -> None:
        with self._thread_lock:
            self._drop()

    # -- exchanges (worker thread only) ------------------------------------------------------
    def write(self, command: str) -> None:
        link = self._require()
        link.discard_input()
        link.write(self._encode(command))

    def query(self, command: str) -> str:
        """Send a query and return its one-line reply, terminations and blanks stripped."""
        self.write(command)
        return self.read_reply(command)

    def read_raw(self) -> bytes:
        """One reply as the link delivers it, read termination included."""
        return self._require().read()

    def read_reply(self, what: str) -> str:
        raw = self.read_raw()
        try:
            text = raw.decode(self.encoding)
        except UnicodeDecodeError:
            raise self.error(ProtocolError, f"{what!r}: reply {raw[:60]!r} is not text") from None
        if not text.endswith(self.read_termination):
            raise self.error(ProtocolError, f"{what!r}: reply {text[:60]!r} is unterminated")
        return text[: -len(self.read_termination)].strip()

    def _encode(self, command: str) -> bytes:
        try:
            return (command + self.write_termination).encode(self.encoding)
        except UnicodeEncodeError as exc:
            raise self.error(WriteRefused, f"{command!r} cannot be sent: {exc}") from None

    def _require(self) -> Link:
        if self._link is None:
            raise self.error(ConnectionLost, "link not open")
        return self._link

    def error(self, kind: type[InstrumentError], message: str) -> InstrumentError:
        return kind(message, instrument=self.name, address=self.address)
