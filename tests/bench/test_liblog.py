"""Library log records: one line on stderr for `hpbench probe`, the full record in a run's log."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.liblog import library_logs_kept_in, library_logs_to_stderr


@pytest.fixture(autouse=True)
def root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers[len(handlers) :]:
        handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)


def asyncio_fatal_error() -> None:
    """What asyncio logs when pymodbus cannot decode a frame (a garbled reply)."""
    try:
        raise ValueError("unpack requires a buffer of 4 bytes")
    except ValueError:
        logging.getLogger("asyncio").error(
            "Fatal error: protocol.data_received() call failed.\nprotocol: <ModbusProtocol>",
            exc_info=True,
        )


def test_stderr_gets_one_line_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    library_logs_to_stderr("hpbench probe")
    asyncio_fatal_error()
    logging.getLogger("pymodbus.logging").info("an info line is not shown")
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "hpbench probe: asyncio: Fatal error: protocol.data_received() call failed. "
        "(ValueError: unpack requires a buffer of 4 bytes)"
    ]


def test_the_run_log_keeps_the_traceback(tmp_path: Path) -> None:
    log = tmp_path / "run" / "hpbench.log"
    with library_logs_kept_in(log):
        asyncio_fatal_error()
    text = log.read_text()
    assert "asyncio ERROR Fatal error" in text
    assert "Traceback" in text and "ValueError: unpack requires a buffer of 4 bytes" in text
