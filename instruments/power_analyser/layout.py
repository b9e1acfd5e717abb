"""Which channels a multi-element power analyser has: elements, wiring systems and Σ groups.

A wiring option such as "3P4W" (one three-phase system on elements 1-3) or "3P4W,1P2W,1P2W"
(WT1800E: elements 1-3 in Σ A, then two single-phase elements) decides the Σ groups. Channel
names are what the station maps quantities to (issue 12): `P1`, `U3`, `P_sigma` (one group) or
`P_sigmaA` / `P_sigmaB` (several), and `Urange1` / `Irange1`, the range the point was
measured on, so the uncertainty's range term uses the range actually used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIRING_ELEMENTS: dict[str, int] = {"1P2W": 1, "1P3W": 2, "3P3W": 2, "3P4W": 3, "3V3A": 3}
"""Elements one wiring system takes (WT330/WT1800 user's manuals: wiring systems)."""

PER_ELEMENT: tuple[tuple[str, str], ...] = (
    ("U", "V"),
    ("I", "A"),
    ("P", "W"),
    ("S", "VA"),
    ("Q", "var"),
    ("PF", ""),
    ("F", "Hz"),
    ("WH", "Wh"),
    ("Urange", "V"),
    ("Irange", "A"),
)
PER_SIGMA: tuple[tuple[str, str], ...] = (
    ("U", "V"),
    ("I", "A"),
    ("P", "W"),
    ("S", "VA"),
    ("Q", "var"),
    ("PF", ""),
    ("WH", "Wh"),
)


@dataclass(frozen=True)
class Item:
    """One value the analyser reports: our channel name, its unit, and what it is."""

    channel: str
    unit: str
    quantity: str  # a key of PER_ELEMENT / PER_SIGMA
    element: int | None  # None: a Σ group
    group: int = 0  # index of the Σ group (A = 0)


@dataclass(frozen=True)
class Layout:
    systems: tuple[str, ...]  # wiring code per system, in element order
    groups: tuple[tuple[int, ...], ...]  # elements of each Σ group
    elements: tuple[int, ...]  # every element measured

    def items(
        self,
        *,
        element_quantities: Sequence[str] | None = None,
        sigma_quantities: Sequence[str] | None = None,
    ) -> list[Item]:
        """Every value, element by element, then each Σ group (None: all quantities)."""
        found = [
            Item(f"{q}{e}", unit, q, e)
            for e in self.elements
            for q, unit in PER_ELEMENT
            if element_quantities is None or q in element_quantities
        ]
        many = len(self.groups) > 1
        for g, _ in enumerate(self.groups):
            suffix = "_sigma" + ("ABC"[g] if many else "")
            found += [
                Item(f"{q}{suffix}", unit, q, None, g)
                for q, unit in PER_SIGMA
                if sigma_quantities is None or q in sigma_quantities
            ]
        return found


def plan(wiring: str, elements: Sequence[int], max_groups: int, model: str) -> Layout:
    """Lay the wiring systems onto the model's elements; ValueError names what does not fit."""
    codes = tuple(c.strip().upper() for c in wiring.split(",") if c.strip())
    unknown = [c for c in codes if c not in WIRING_ELEMENTS]
    if not codes or unknown:
        raise ValueError(
            f"{model}: wiring {wiring!r}: use {', '.join(WIRING_ELEMENTS)} (comma-separated)"
        )
    needed = sum(WIRING_ELEMENTS[c] for c in codes)
    if needed > len(elements):
        raise ValueError(
            f"{model}: wiring {wiring!r} needs {needed} elements, the model has {len(elements)}"
        )
    groups: list[tuple[int, ...]] = []
    at = 0
    for code in codes:
        taken = tuple(elements[at : at + WIRING_ELEMENTS[code]])
        at += len(taken)
        if len(taken) > 1:
            groups.append(taken)
    if len(groups) > max_groups:
        raise ValueError(
            f"{model}: wiring {wiring!r} forms {len(groups)} Σ groups, max {max_groups}"
        )
    return Layout(codes, tuple(groups), tuple(elements))


def checked_range(
    value: float | None, allowed: Sequence[float] | None, what: str, model: str
) -> float | None:
    """A fixed range must be one the model has (any positive one when `allowed` is None, where
    the ranges depend on the sensor fitted); None means auto range."""
    if value is None:
        return None
    if allowed is None:
        if not value > 0:
            raise ValueError(f"{model}: {what} range must be positive, not {value:g}")
        return float(value)
    for r in allowed:
        if abs(r - value) <= 1e-9 * r:
            return r
    shown = ", ".join(f"{r:g}" for r in allowed)
    raise ValueError(f"{model}: {what} range {value:g} is not one of {shown} (or omit it for auto)")
