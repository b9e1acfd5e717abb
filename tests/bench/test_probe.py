"""`hpbench probe --sim`: the station's bench, read through the controller's idle acquisition."""

from __future__ import annotations

import io
import re

from rich.console import Console

from bench.controller import open_bench
from bench.probe import run_probe
from bench.run.acquisition import channels_of


async def test_every_instrument_answers_and_every_channel_is_shown() -> None:
    out = io.StringIO()
    console = Console(file=out, width=100_000, force_terminal=False)
    with open_bench(None, sim=True, speed=10.0) as bench:
        code = await run_probe(bench, console, period_s=0.3, duration_s=1.5)
        expected = set(channels_of(bench.instruments))
        addresses = {role: inst.address for role, inst in bench.instruments.items()}
    text = out.getvalue()
    assert code == 0, text
    assert ":error=" not in text, text
    for role, address in addresses.items():  # who answered, and where
        assert re.search(rf"^{role} .*\({re.escape(address)}\)$", text, re.M), text
    # the first frame may land after the first line: the last line has every channel
    line = text.strip().splitlines()[-1]
    shown = set(re.findall(r"([A-Za-z0-9_]+\.[A-Za-z0-9_]+)=", line))
    assert shown == expected, line
