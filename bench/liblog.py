"""Where the libraries' own log records go (pymodbus on a garbled frame, asyncio on a broken
link, aiomqtt): never as a traceback over a progress display or a live table.

hpbench's own account of what happened is in the run store's events; these records are the
libraries' view, kept for whoever debugs a driver.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path


class OneLine(logging.Formatter):
    """`prog: logger: first line of the message (ExceptionType: message)`, no traceback."""

    def __init__(self, prog: str) -> None:
        super().__init__()
        self.prog = prog

    def format(self, record: logging.LogRecord) -> str:
        lines = record.getMessage().splitlines()
        text = lines[0] if lines else ""
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            text += f" ({type(exc).__name__}: {exc})"
        return f"{self.prog}: {record.name}: {text}"


@contextlib.contextmanager
def library_logs_kept_in(path: Path) -> Iterator[None]:
    """Library warnings and errors, with tracebacks, to one run's log file while it runs (a
    process may run several plans: the TUI)."""
    handler = _file_handler(path)
    _install(handler)
    try:
        yield
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()


def _file_handler(path: Path) -> logging.Handler:
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    return handler


def library_logs_to_stderr(prog: str) -> None:
    """Library warnings and errors as one line each on stderr (a command without a run dir)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLine(prog))
    _install(handler)


def _install(handler: logging.Handler) -> None:
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
