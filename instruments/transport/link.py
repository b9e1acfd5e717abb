"""The byte pipe under a line session: a VISA resource, or a scripted one in tests.

A `Link` moves whole messages: `write` sends bytes as given (the session has already added
the write termination), `read` returns one reply including its read termination. The VISA
link is what the drivers use on real and simulated benches; the exchange tests hand the
session a scripted link and so pin the exact bytes of every request and reply.
"""

from __future__ import annotations

import contextlib
import select
import socket
from collections.abc import Callable
from typing import Protocol, TypeVar

import pyvisa
from pyvisa.constants import BufferOperation, StatusCode
from pyvisa.errors import Error as VisaError
from pyvisa.errors import InvalidSession, VisaIOError
from pyvisa.resources import MessageBasedResource
from pyvisa.rname import InvalidResourceName, parse_resource_name

from instruments.base import ConnectionLost, InstrumentError, InstrumentTimeout

T = TypeVar("T")
GPIB_MISSING = (
    "a GPIB address needs linux-gpib and its Python bindings, which are not installed; "
    "use the instrument's Ethernet (TCPIP::host::port::SOCKET) or USB (USB0::...) address"
)
ErrorFactory = Callable[[type[InstrumentError], str], InstrumentError]


def _socket_port(address: str) -> int | None:
    """The port of a `TCPIP::host::port::SOCKET` resource (None for any other kind)."""
    parts = address.split("::")
    if len(parts) == 4 and parts[3].upper() == "SOCKET" and parts[2].isdigit():
        return int(parts[2])
    return None


class Link(Protocol):
    def write(self, data: bytes) -> None: ...

    def read(self) -> bytes:
        """One reply, read termination included; raises InstrumentError subclasses."""
        ...

    def discard_input(self) -> None:
        """Drop anything that arrived unasked (a stray line would be read as the next answer)."""
        ...

    def close(self) -> None: ...


class VisaLink:
    """A pyvisa resource; SOCKET sessions get the dead-peer and stray-input care WT300 has."""

    def __init__(
        self,
        address: str,
        *,
        read_termination: str,
        write_termination: str,
        timeout_s: float,
        visa_library: str,
        error: ErrorFactory,
    ) -> None:
        self.address = address
        self.timeout_s = timeout_s
        self._error = error
        self._end = read_termination.encode("latin-1")
        try:
            # pyvisa would open a malformed name as a bare Resource and then complain about
            # read_termination; say what is really wrong
            parse_resource_name(address)
        except InvalidResourceName as exc:
            raise error(InstrumentError, f"not a VISA resource string: {exc}") from exc
        port = _socket_port(address)
        if port is not None and not 1 <= port <= 65535:
            raise error(InstrumentError, f"port {port} is not in 1..65535")
        gpib = address.upper().startswith("GPIB")
        try:
            # one shared manager per library for the whole process: never closed here
            rm = pyvisa.ResourceManager(visa_library)
        except (OSError, ValueError, VisaError) as exc:
            raise error(
                InstrumentError, f"cannot load VISA library {visa_library!r}: {exc}"
            ) from exc
        timeout_ms = round(timeout_s * 1000)
        try:
            inst = rm.open_resource(
                address,
                # both explicit: a SOCKET resource defaults to none and every read times out
                # (pyvisa#98, docs/protocols.md §5.2)
                read_termination=read_termination,
                write_termination=write_termination,
                timeout=timeout_ms,
                open_timeout=timeout_ms,
            )
        except (ValueError, VisaIOError) as exc:
            if gpib:
                raise error(InstrumentError, GPIB_MISSING) from exc
            if isinstance(exc, ValueError) or exc.error_code in (
                StatusCode.error_invalid_resource_name,
                StatusCode.error_library_not_found,
            ):
                raise error(InstrumentError, f"cannot open: {exc}") from exc
            raise self._mapped(exc, "open") from exc
        except Exception as exc:  # pyvisa-py raises a bare Exception when a connect times out
            if gpib and "gpib" in str(exc).lower():
                raise error(InstrumentError, GPIB_MISSING) from exc
            raise error(ConnectionLost, f"cannot open: {exc}") from exc
        if not isinstance(inst, MessageBasedResource):  # lines need a message-based resource
            inst.close()
            raise error(InstrumentError, f"cannot open: {address} does not carry messages")
        self._inst = inst
        gone = self._peer_gone()
        if gone:  # pyvisa-py "opens" a socket whose connect was refused
            self.close()
            raise error(ConnectionLost, f"cannot connect: {gone}")
        if self._socket() is None:
            # USB, serial, VXI-11: device clear; pyvisa-py's clear() spins on a dead socket
            self._visa("device clear", lambda inst: inst.clear())

    @property
    def peer_gone(self) -> str | None:
        return self._peer_gone()

    def write(self, data: bytes) -> None:
        self._visa("write", lambda inst: inst.write_raw(data))

    def read(self) -> bytes:
        data = self._visa("read", lambda inst: inst.read_raw())
        if self._socket() is None and not data.endswith(self._end):
            # USB-TMC, GPIB and VXI-11 may end a message with END alone (docs/protocols.md
            # §1.1: <PMT> is LF, ^END or both): that is a complete reply, not a truncated one
            data += self._end
        return data

    def discard_input(self) -> None:
        sock = self._socket()
        if sock is None:
            return
        with contextlib.suppress(Exception):
            self._inst.flush(BufferOperation.discard_read_buffer_no_io)
        with contextlib.suppress(OSError, ValueError):
            while select.select([sock], [], [], 0)[0]:
                if not sock.recv(4096, socket.MSG_DONTWAIT):
                    break  # closed by the peer: the next exchange says so

    def close(self) -> None:
        with contextlib.suppress(Exception):  # the link may already be gone
            self._inst.close()

    def _visa(self, what: str, op: Callable[[MessageBasedResource], T]) -> T:
        try:
            return op(self._inst)
        except VisaIOError as exc:
            raise self._mapped(exc, what) from exc
        except Exception as exc:  # OSError and pyvisa-py's own errors on a dead link
            raise self._error(ConnectionLost, f"{what}: {type(exc).__name__}: {exc}") from exc

    def _mapped(self, exc: VisaIOError, what: str) -> InstrumentError:
        if exc.error_code == StatusCode.error_timeout:
            # pyvisa-py reads a socket the peer closed as silence until the timeout
            gone = self._peer_gone()
            if gone:
                return self._error(ConnectionLost, f"{what}: {gone}")
            return self._error(InstrumentTimeout, f"{what}: no reply in {self.timeout_s:g} s")
        return self._error(ConnectionLost, f"{what}: {exc.abbreviation} {exc.description}")

    def _socket(self) -> socket.socket | None:
        inst = getattr(self, "_inst", None)
        sessions = getattr(getattr(inst, "visalib", None), "sessions", None)
        if inst is None or not isinstance(sessions, dict):
            return None
        try:
            session = sessions.get(inst.session)
        except InvalidSession:
            return None
        sock = getattr(session, "interface", None)
        return sock if isinstance(sock, socket.socket) else None

    def _peer_gone(self) -> str | None:
        sock = self._socket()
        if sock is None or sock.fileno() < 0:
            return None
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable and sock.recv(1, socket.MSG_PEEK) == b"":
                return "connection closed by the instrument"
        except OSError as exc:
            return exc.strerror or str(exc)
        except ValueError:  # select() cannot watch fds past FD_SETSIZE
            return None
        return None
