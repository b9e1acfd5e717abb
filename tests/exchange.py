"""In-memory exchanges: a scripted link that pins the exact bytes a driver sends and reads.

`Script([(request, reply), ...])` is handed to a driver as its `open_link`; every write must
be the next expected request byte for byte, and every read gets the reply paired with the
last request (None: the request expects no reply). A reply may also be an exception instance
(e.g. an InstrumentTimeout) to raise on that read.
"""

from __future__ import annotations

from collections.abc import Sequence

from instruments.base import InstrumentError

Pair = tuple[bytes, bytes | InstrumentError | None]


class Script:
    def __init__(self, *sessions: Sequence[Pair]) -> None:
        self.sessions = [list(s) for s in sessions]  # one script per (re)connect
        self.opened = 0
        self.sent: list[bytes] = []

    def __call__(self) -> ScriptedLink:
        assert self.opened < len(self.sessions), "driver opened the link more often than scripted"
        link = ScriptedLink(self, self.sessions[self.opened])
        self.opened += 1
        return link

    def done(self) -> bool:
        return self.opened == len(self.sessions) and all(not s for s in self.sessions)


class ScriptedLink:
    def __init__(self, script: Script, pairs: list[Pair]) -> None:
        self.script = script
        self.pairs = pairs
        self.pending: list[bytes | InstrumentError] = []

    def write(self, data: bytes) -> None:
        self.script.sent.append(data)
        assert self.pairs, f"unexpected request {data!r}: script exhausted"
        expected, reply = self.pairs.pop(0)
        assert data == expected, f"sent {data!r}, expected {expected!r}"
        if reply is not None:
            self.pending.append(reply)

    def read(self) -> bytes:
        assert self.pending, "driver read with no reply scripted"
        reply = self.pending.pop(0)
        if isinstance(reply, InstrumentError):
            raise reply
        return reply

    def discard_input(self) -> None:
        self.pending.clear()

    def close(self) -> None:
        pass
