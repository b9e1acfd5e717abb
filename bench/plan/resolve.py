"""From plan files to the flat list of points the sequencer runs.

Points are merged along the `extends` chain (a child's point with the same id replaces the
inherited one in place, new ids are appended, `only` keeps a subset of the inherited ones).
Each value then comes from the point, else from `defaults` (the child's before its parent's),
else from the tolerance profile. A problem is reported where the value was written, so a bad
default is named once, at its own line, not once per point.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.metrology.psychro import relative_humidity, wet_bulb
from bench.plan.errors import Loc
from bench.plan.loadbased import LoadBasedSetting, resolve_load_based
from bench.plan.model import DEFAULT_BAROMETRIC_PA, FLOW_FIELDS, LoadBasedSpec, PointSpec
from bench.plan.resolved import (
    FlowFrom,
    FlowSetting,
    InletTemperature,
    PartLoadSetting,
    ResolvedPoint,
    TemperatureDifference,
    Timing,
    VolumeFlow,
)
from bench.plan.source import Doc
from bench.profiles import Profile

MIN_INLET_C = 10.0  # the water inlet range of model.InletC
MIN_SAMPLES = 3  # a collection period shorter than three samples has no meaningful mean
TIMING_FIELDS = ("equilibrium_min", "collection_min", "stabilise_timeout_min", "sample_s")


@dataclass(frozen=True)
class Entry:
    """A point as written, and where: the file and its index in that file's `points`."""

    spec: PointSpec
    doc: Doc
    index: int

    def loc(self, *sub: str | int) -> Loc:
        return ("points", self.index, *sub)

    def at(self, sub: Loc, message: str) -> str:
        return self.doc.at(self.loc(*sub), message)


@dataclass(frozen=True)
class Origin:
    """Where a resolved value was written; `entry` is None for defaults and the profile."""

    doc: Doc
    loc: Loc
    entry: Entry | None
    profile: bool = False  # not written in the plan: the point's line stands in for it

    @property
    def rank(self) -> int:
        """0 written at the point, 1 in defaults, 2 from the profile: where to blame first."""
        return 2 if self.profile else (1 if self.entry is None else 0)

    def at(self, message: str) -> str:
        """A problem with the value itself: a default is named once, whatever uses it."""
        return self.doc.at(self.loc, message)

    def about(self, point: Entry, message: str) -> str:
        """A problem of the value at one point: a default's line then says which point."""
        prefix = "" if self.entry is not None else f"point {point.spec.id}: "
        return self.doc.at(self.loc, prefix + message)


def merge_points(doc: Doc, problems: list[str]) -> list[Entry]:
    """The points of `doc` with those it inherits, in run order."""
    assert doc.spec is not None
    own = [Entry(p, doc, i) for i, p in enumerate(doc.spec.points or [])]
    first: dict[str, Entry] = {}
    for entry in own:
        if entry.spec.id in first:
            line = doc.positions.line(first[entry.spec.id].loc())
            problems.append(
                entry.at(("id",), f"duplicate point id {entry.spec.id!r} (first at line {line})")
            )
        else:
            first[entry.spec.id] = entry
    if doc.parent is None or doc.parent.spec is None:
        return list(first.values())
    inherited = merge_points(doc.parent, [])  # the parent reports its own problems
    if doc.spec.only is not None:
        ids = [e.spec.id for e in inherited]
        for number, wanted in enumerate(doc.spec.only):
            if wanted not in ids:
                problems.append(
                    doc.at(
                        ("only", number),
                        f"no point {wanted!r} in {doc.parent.path.name}; it has {', '.join(ids)}",
                    )
                )
        inherited = [e for e in inherited if e.spec.id in doc.spec.only]
    merged = {e.spec.id: e for e in inherited}
    merged.update(first)  # same id: replaced in place; new id: appended
    return list(merged.values())


def _default(chain: list[Doc], section: str | None, name: str) -> tuple[Any, Origin] | None:
    """The first value of `defaults[.section].name` along the chain, child first."""
    for doc in chain:
        assert doc.spec is not None
        holder = doc.spec.defaults if section is None else getattr(doc.spec.defaults, section)
        if holder is not None and getattr(holder, name) is not None:
            loc = ("defaults", name) if section is None else ("defaults", section, name)
            return getattr(holder, name), Origin(doc, loc, None)
    return None


def _pick_timing(
    entry: Entry, chain: list[Doc], profile: Profile | None, name: str
) -> tuple[float, Origin] | None:
    own = entry.spec.timing
    if own is not None and getattr(own, name) is not None:
        return getattr(own, name), Origin(entry.doc, entry.loc("timing", name), entry)
    found = _default(chain, "timing", name)
    if found is not None:
        return found
    if profile is None:
        return None
    value = getattr(profile.timing, "sample_max_s" if name == "sample_s" else name).value
    return value, Origin(entry.doc, entry.loc(), entry, profile=True)


class _Resolver:
    def __init__(self, doc: Doc, profile: Profile | None) -> None:
        self.chain = [d for d in doc.chain() if d.spec is not None]  # bad ones are reported
        self.profile = profile
        self.problems: list[str] = []
        self.warnings: list[str] = []
        pressure = _default(self.chain, None, "barometric_pa")
        self.barometric_pa = pressure[0] if pressure else DEFAULT_BAROMETRIC_PA

    def air(self, entry: Entry) -> tuple[float, float, float] | None:
        air = entry.spec.air
        p_pa = self.barometric_pa
        try:
            if air.wet_bulb_c is not None:
                wb = air.wet_bulb_c
                rh = relative_humidity(air.dry_bulb_c, wb, p_pa=p_pa)
            else:
                assert air.rh_pct is not None
                rh = air.rh_pct
                wb = wet_bulb(air.dry_bulb_c, rh, p_pa=p_pa)
        except ValueError as exc:
            given = "wet_bulb_c" if air.wet_bulb_c is not None else "rh_pct"
            self.problems.append(entry.at(("air", given), str(exc)))
            return None
        if not 5.0 <= rh <= 100.0:
            self.problems.append(
                entry.at(
                    ("air", "wet_bulb_c"),
                    f"dry bulb {air.dry_bulb_c:g} °C, wet bulb {wb:g} °C is {rh:.1f} % RH, "
                    "outside the humidity range 5..100 %",
                )
            )
            return None
        return air.dry_bulb_c, rh, wb

    def flow(self, entry: Entry, ids_before: list[str], all_ids: list[str]) -> FlowSetting | None:
        water = entry.spec.water
        own = [n for n in FLOW_FIELDS if getattr(water, n) is not None]
        if own:
            name, value = own[0], getattr(water, own[0])
            origin = Origin(entry.doc, entry.loc("water", name), entry)
        else:
            found = self._default_flow()
            if found is None:
                self.problems.append(
                    entry.at(
                        ("water",),
                        f"no flow setting: give one of {', '.join(FLOW_FIELDS)} here "
                        "or in defaults.water",
                    )
                )
                return None
            name, value, origin = found
        outlet = water.outlet_c
        if name == "inlet_c" and value >= outlet:
            self.problems.append(
                origin.about(
                    entry, f"heating: inlet {value:g} °C must be below the outlet {outlet:g} °C"
                )
            )
            return None
        if name == "delta_t_k" and outlet - value < MIN_INLET_C:
            self.problems.append(
                origin.about(
                    entry,
                    f"ΔT {value:g} K below the outlet {outlet:g} °C means an inlet of "
                    f"{outlet - value:g} °C, under {MIN_INLET_C:g} °C",
                )
            )
            return None
        if name == "flow_from":
            return self._flow_from(entry, origin, value, ids_before, all_ids)
        return {
            "inlet_c": InletTemperature,
            "delta_t_k": TemperatureDifference,
            "flow_m3h": VolumeFlow,
        }[name](value)

    def _default_flow(self) -> tuple[str, Any, Origin] | None:
        """The nearest `defaults.water`: a child's replaces its parent's as a whole."""
        for doc in self.chain:
            assert doc.spec is not None
            flow = doc.spec.defaults.water
            if flow is not None:
                name = next(n for n in FLOW_FIELDS if getattr(flow, n) is not None)
                return name, getattr(flow, name), Origin(doc, ("defaults", "water", name), None)
        return None

    def _flow_from(
        self, entry: Entry, origin: Origin, ref: str, before: list[str], all_ids: list[str]
    ) -> FlowFrom | None:
        if ref in before:
            return FlowFrom(ref)
        if ref == entry.spec.id:
            message = f"point {ref} cannot take its flow from itself"
        elif ref in all_ids:
            message = f"point {ref} comes later in the plan; flow_from needs an earlier point"
        else:
            message = f"no point {ref!r} in this plan; points: {', '.join(all_ids)}"
        self.problems.append(origin.about(entry, message))
        return None

    def timing(self, entry: Entry) -> Timing | None:
        picked = {n: _pick_timing(entry, self.chain, self.profile, n) for n in TIMING_FIELDS}
        values = {n: v[0] for n, v in picked.items() if v is not None}
        origin = {n: v[1] for n, v in picked.items() if v is not None}
        if len(values) < len(TIMING_FIELDS):
            return None  # left to a profile that could not be loaded: already reported
        timing = Timing(**values)
        problems: list[str] = []
        if timing.collection_min * 60.0 < MIN_SAMPLES * timing.sample_s:
            # Blame the more specific of the two; a tie goes to the collection period.
            blame = min(origin["collection_min"], origin["sample_s"], key=lambda o: o.rank)
            problems.append(
                blame.at(
                    f"a {timing.collection_min:g} min collection holds fewer than {MIN_SAMPLES} "
                    f"samples of {timing.sample_s:g} s",
                )
            )
        if timing.stabilise_timeout_min < timing.equilibrium_min:
            problems.append(
                origin["stabilise_timeout_min"].at(
                    f"{timing.stabilise_timeout_min:g} min is shorter than the equilibrium "
                    f"period {timing.equilibrium_min:g} min it must include",
                )
            )
        if self.profile is not None:
            problems += self._against_profile(self.profile, timing, origin)
        self.problems += problems
        return None if problems else timing

    def _against_profile(
        self, profile: Profile, timing: Timing, origin: dict[str, Origin]
    ) -> list[str]:
        """Sampling slower than the profile allows is an error; shorter periods a warning."""
        limit = profile.timing.sample_max_s.value
        if timing.sample_s > limit:
            return [
                origin["sample_s"].at(
                    f"{timing.sample_s:g} s is longer than profile {profile.name}'s maximum "
                    f"sampling interval {limit:g} s",
                )
            ]
        for name in ("equilibrium_min", "collection_min"):
            wanted = getattr(profile.timing, name).value
            if getattr(timing, name) < wanted:
                self.warnings.append(
                    origin[name].at(
                        f"warning: {getattr(timing, name):g} min is shorter than profile "
                        f"{profile.name}'s {wanted:g} min: not a rating measurement",
                    )
                )
        return []

    def on_unstable(self, entry: Entry) -> Any:
        if entry.spec.on_unstable is not None:
            return entry.spec.on_unstable
        found = _default(self.chain, None, "on_unstable")
        return found[0] if found else "fail_and_continue"

    def point(self, entry: Entry, before: list[str], all_ids: list[str]) -> ResolvedPoint | None:
        spec = entry.spec
        air = self.air(entry)
        load_based = None
        if spec.load_based is not None:
            found = self._load_based(entry, spec.load_based)
            if found is None:
                return None
            load_based, flow, timing = found
        else:
            flow = self.flow(entry, before, all_ids)
            timing = self.timing(entry)
        if air is None or flow is None or timing is None:
            return None
        part = spec.part_load
        return ResolvedPoint(
            id=spec.id,
            mode="heating",
            air_dry_bulb_c=air[0],
            air_rh_pct=air[1],
            air_wet_bulb_c=air[2],
            humidity_given="wet_bulb" if spec.air.wet_bulb_c is not None else "rh",
            water_outlet_c=spec.water.outlet_c,
            flow=flow,
            part_load=PartLoadSetting(part.demand_pct, part.compressor_hz) if part else None,
            timing=timing,
            on_unstable=self.on_unstable(entry),
            barometric_pa=self.barometric_pa,
            source=f"{entry.doc.path}:{entry.doc.positions.line(entry.loc())}",
            load_based=load_based,
        )

    def _load_based(
        self, entry: Entry, spec: LoadBasedSpec
    ) -> tuple[LoadBasedSetting, FlowSetting, Timing] | None:
        top = self.chain[0].spec
        assert top is not None
        return resolve_load_based(
            spec,
            t_flow_c=entry.spec.water.outlet_c,
            t_out_c=entry.spec.air.dry_bulb_c,
            design_kw=top.unit.pdesignh_kw,
            application=top.application,
            at=entry.at,
            problems=self.problems,
            sample_s=self._sample_s(entry),
        )

    def _sample_s(self, entry: Entry) -> float | None:
        """A load-based point's sample period when the plan sets one (the point's, else its
        defaults'); None: every emulation step."""
        if entry.spec.timing is not None and entry.spec.timing.sample_s is not None:
            return entry.spec.timing.sample_s
        found = _default(self.chain, "timing", "sample_s")
        return found[0] if found else None


def resolve_points(
    doc: Doc, profile: Profile | None, problems: list[str], warnings: list[str]
) -> tuple[ResolvedPoint, ...]:
    """The points of `doc` with every default applied; problems and warnings appended."""
    entries = merge_points(doc, problems)
    if not entries and doc.spec is not None and doc.spec.only is not None:
        problems.append(doc.at(("only",), "selects no point: the plan would run nothing"))
    resolver = _Resolver(doc, profile)
    all_ids = [e.spec.id for e in entries]
    points = []
    for number, entry in enumerate(entries):
        point = resolver.point(entry, all_ids[:number], all_ids)
        if point is not None:
            points.append(point)
    problems.extend(resolver.problems)
    warnings.extend(resolver.warnings)
    return tuple(points)
