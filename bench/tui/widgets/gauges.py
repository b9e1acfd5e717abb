"""Stability gauges: per controlled quantity, where its deviation sits between its limits.

    air dry bulb        7.00 → 7.12 °C
        ╶──┆──┼◆●┆──╴ +0.12/0.3 x̄+0.05/0.2 K

The bar spans ±1.5 × the individual limit; `┆` marks the individual limit, `●` the latest
deviation, `◆` the mean so far. Red: beyond the individual limit; yellow: mean beyond the mean
limit; so one glance says which quantity keeps the point from being steady.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from bench.tui.fmt import number
from bench.tui.live import Gauge

VERDICT_STYLE = {"ok": "green", "mean": "yellow", "individual": "red", "missing": "red"}
BAR = 11
SPAN = 1.5  # the bar spans ± SPAN × the individual limit


def bar(gauge: Gauge, width: int = BAR) -> Text:
    half = width // 2
    cells = [("─", "dim")] * width
    cells[0], cells[-1], cells[half] = ("╶", "dim"), ("╴", "dim"), ("┼", "dim")
    limit_at = round(half / SPAN)
    cells[half - limit_at] = cells[half + limit_at] = ("┆", "")

    def position(dev: float) -> int:
        scaled = dev / (gauge.individual_limit * SPAN) if gauge.individual_limit else 0.0
        return half + round(max(-1.0, min(1.0, scaled)) * half)

    if gauge.mean is not None:
        cells[position(gauge.mean)] = ("◆", "yellow" if gauge.verdict == "mean" else "")
    if gauge.deviation is not None:
        cells[position(gauge.deviation)] = ("●", VERDICT_STYLE[gauge.verdict])
    text = Text()
    for char, style in cells:
        text.append(char, style)
    return text


def _signed(value: float | None) -> str:
    return "—" if value is None else f"{value:+.2f}"


def lines(gauge: Gauge) -> Text:
    style = VERDICT_STYLE[gauge.verdict]
    head = Text(f"{gauge.label:<14}", style="bold")
    actual = number(gauge.actual, gauge.unit) if gauge.actual is not None else "—"
    head.append(f"{number(gauge.set_value, gauge.unit):>6} → ")
    head.append(actual, style=style)
    head.append(f" {gauge.unit}")
    body = Text(" ")
    body.append_text(bar(gauge))
    body.append(f" {_signed(gauge.deviation)}/{gauge.individual_limit:g}", style=style)
    mean_style = "yellow" if gauge.verdict == "mean" else ""
    body.append(f" x̄{_signed(gauge.mean)}/{gauge.mean_limit:g}", style=mean_style)
    body.append(f" {gauge.dev_unit}")
    return Text("\n").join([head, body])


class StabilityGauges(Static):
    def on_mount(self) -> None:
        self.border_title = "stability"
        self._shown: tuple[Gauge, ...] | None = None
        self.show(())
        self.refresh(layout=True)

    def show(self, gauges: tuple[Gauge, ...]) -> None:
        if gauges == self._shown:
            return
        resized = len(gauges) != len(self._shown or ())
        self._shown = gauges
        if not gauges:
            self.update(Text("no point in progress", style="dim"), layout=resized)
            return
        self.update(Text("\n").join(lines(g) for g in gauges), layout=resized)
