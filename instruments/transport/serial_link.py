"""The serial byte pipe under a line session: any pyserial URL (tty, `socket://`, `rfc2217://`).

What the ESPEC driver did by hand, for every ASCII-over-serial instrument: a reply is read up to
its terminator in chunks (pyserial's read_until asks the OS for one byte at a time, which made
a chamber read cost more CPU than all other instruments together), input is flushed before
every command so a late reply never passes as the next answer, and a port is closed on a helper
thread, because pyserial's `socket://` close() sleeps 0.3 s to give single-client adaptors time
before a reconnect: the next open waits for it, nobody else does.
"""

from __future__ import annotations

import contextlib
import threading
import time
from urllib.parse import urlsplit

import serial

from instruments.base import ConnectionLost, InstrumentError, InstrumentTimeout
from instruments.transport.link import ErrorFactory


def _has_port(url: str) -> bool:
    try:
        return urlsplit(url).port is not None
    except ValueError:  # a port that is not a number, or out of range
        return False


def _close_quietly(port: serial.Serial) -> None:
    with contextlib.suppress(Exception):  # closing a port that already died must not raise
        port.close()


class SerialLink:
    """One open port; `read` returns one reply with its terminator or raises."""

    def __init__(
        self, port: serial.Serial, *, terminator: bytes, timeout_s: float, error: ErrorFactory
    ) -> None:
        self._port = port
        self._end = terminator
        self._timeout_s = timeout_s
        self._error = error
        self._asked = ""  # the last request, for the error messages
        self.closing: threading.Thread | None = None

    def write(self, data: bytes) -> None:
        self._asked = data.removesuffix(self._end).decode("ascii", "replace")
        try:
            self._port.write(data)
        except serial.SerialTimeoutException as e:
            raise self._error(InstrumentTimeout, f"{self._asked!r} could not be sent: {e}") from e
        except (serial.SerialException, OSError) as e:
            raise self._error(ConnectionLost, f"{self._asked!r}: {e}") from e

    def read(self) -> bytes:
        deadline = time.monotonic() + self._timeout_s
        buf = bytearray()
        try:
            while self._end not in buf and time.monotonic() < deadline:
                chunk = self._port.read(max(1, self._port.in_waiting))
                if not chunk:
                    break  # the port's timeout passed without a byte
                buf += chunk
        except (serial.SerialException, OSError) as e:
            raise self._error(ConnectionLost, f"{self._asked!r}: {e}") from e
        end = buf.find(self._end)
        if end < 0:  # the rest of a late reply dies with this port (the session drops it)
            what = f"an incomplete answer {bytes(buf)!r}" if buf else "no answer"
            raise self._error(
                InstrumentTimeout, f"{what} to {self._asked!r} in {self._timeout_s} s"
            )
        return bytes(buf[: end + len(self._end)])  # what follows goes with the next flush

    def discard_input(self) -> None:
        try:
            self._port.reset_input_buffer()
        except (serial.SerialException, OSError) as e:
            raise self._error(ConnectionLost, f"flushing the input: {e}") from e

    def close(self) -> None:
        self.closing = threading.Thread(
            target=_close_quietly, args=(self._port,), name=f"close {self._port.name}", daemon=True
        )
        self.closing.start()


class SerialLine:
    """Opens `SerialLink`s to one address, each after the previous one finished closing."""

    def __init__(
        self,
        address: str,
        *,
        baudrate: int,
        terminator: bytes,
        timeout_s: float,
        error: ErrorFactory,
    ) -> None:
        self.address = address
        self.baudrate = baudrate
        self.terminator = terminator
        self.timeout_s = timeout_s
        self._error = error
        self._last: SerialLink | None = None

    def __call__(self) -> SerialLink:
        if self._last is not None and self._last.closing is not None:
            self._last.closing.join()
        self._last = None
        if self.address.lower().startswith("socket://") and not _has_port(self.address):
            raise self._error(InstrumentError, "cannot open: socket:// needs a port (host:port)")
        try:
            port = serial.serial_for_url(
                self.address,
                baudrate=self.baudrate,
                timeout=self.timeout_s,
                write_timeout=self.timeout_s,
            )
        except ValueError as e:  # not a URL pyserial knows: a configuration error
            raise self._error(InstrumentError, f"cannot open: {e}") from e
        except (serial.SerialException, OSError) as e:
            raise self._error(ConnectionLost, f"cannot open: {e}") from e
        self._last = SerialLink(
            port, terminator=self.terminator, timeout_s=self.timeout_s, error=self._error
        )
        return self._last
