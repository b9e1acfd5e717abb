"""Simulated ZES ZIMMER LMG670 in the SHORT command language (the driver's subset, §1.5).

`;`-separated commands and queries on one line, the answers `;`-joined. Ranges per channel:
auto (`iauto<c> 1`) or fixed (`irng<c> <A>`); the one in use is answered to `irng<c>?`. An
unknown command sets the command-error bit of *esr?. Each channel carries one phase of a
balanced three-phase load when more than one channel is read. OVER_RANGE reads `INF`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from instruments.sim.line_server import over_range, phase_values, range_for
from instruments.sim.model import BenchModel

VOLTAGE_RANGES = (3.0, 6.0, 12.5, 25.0, 60.0, 130.0, 250.0, 400.0, 600.0, 1000.0)
CURRENT_RANGES = (0.15, 0.3, 0.6, 1.2, 2.5, 5.0, 10.0, 20.0, 32.0)


@dataclass
class LmgSim:
    model: BenchModel
    esr: int = 0
    auto: dict[str, bool] = field(default_factory=dict)  # "u1" -> auto range on
    fixed: dict[str, float] = field(default_factory=dict)
    channels_read: int = 1

    def handle(self, line: str) -> str | None:
        parts = [p.strip() for p in line.split(";") if p.strip()]
        queried = {int(m) for p in parts for m in re.findall(r"^[a-z]+(\d)\?$", p.lower())}
        self.channels_read = max(1, len(queried))
        if any(p.endswith("?") and not p.startswith("*") for p in parts):
            self.model.advance()
        replies = []
        for part in parts:
            try:
                reply = self._execute(part)
            except ValueError:
                self.esr |= 32
                reply = None
            if reply is not None:
                replies.append(reply)
        return ";".join(replies) if replies else None

    def _execute(self, text: str) -> str | None:
        word, _, arg = text.partition(" ")
        word = word.lower()
        if word == "*idn?":
            return "ZES ZIMMER,LMG670,01234,5.200"
        if word == "*esr?":
            esr, self.esr = self.esr, 0
            return str(esr)
        if word in ("*cls", "*zlang", "cycl"):
            return None
        m = re.fullmatch(r"([ui])(auto|rng)([1-7])(\??)", word)
        if m:
            key = m.group(1) + m.group(3)
            ranges = VOLTAGE_RANGES if m.group(1) == "u" else CURRENT_RANGES
            if m.group(4):
                return f"{self._range(key, ranges):g}"
            if m.group(2) == "auto":
                self.auto[key] = arg.strip() == "1"
            else:
                self.fixed[key] = float(arg)
            return None
        m = re.fullmatch(r"(utrms|itrms|p|s|q|pf|fcyc)([1-7])\?", word)
        if m is None:
            raise ValueError(text)
        if over_range(self.model):
            return "INF"
        ph = phase_values(self.model.electrical, self.channels_read)
        value = {"utrms": ph.u, "itrms": ph.i, "p": ph.p, "s": ph.s, "q": ph.q, "pf": ph.pf,
                 "fcyc": ph.f}[m.group(1)]  # fmt: skip
        return f"{value:.6E}"

    def _range(self, key: str, ranges: tuple[float, ...]) -> float:
        if not self.auto.get(key, True) and key in self.fixed:
            return self.fixed[key]
        ph = phase_values(self.model.electrical, self.channels_read)
        return range_for(ph.u if key.startswith("u") else ph.i, ranges)
