"""The pyserial link on a real socket: a silent peer is a timeout with the request named."""

from __future__ import annotations

import socket

import pytest

from instruments.base import InstrumentTimeout
from instruments.climate_chamber.espec import EspecChamber


async def test_silence_times_out_after_the_timeout_set_on_the_built_driver() -> None:
    listener = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    chamber = EspecChamber("ch", f"socket://127.0.0.1:{listener.getsockname()[1]}")
    chamber.timeout_s = 0.3
    try:
        with pytest.raises(InstrumentTimeout, match=r"no answer to 'MON\?' in 0\.3 s"):
            await chamber.read()
    finally:
        await chamber.close()
        listener.close()
