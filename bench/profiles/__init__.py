"""Tolerance profiles: the permissible deviations and timings a point is judged by.

docs/standards.md §2 marks every EN 14511-3 tolerance and time [U] (unverified), so none of them
is a constant in code: they live in a TOML file per profile, each value with its source tag,
and a result names the profile and version that judged it. Profiles ship in this package
(`bench/profiles/<id>.toml`, found by id) or are any file given by path.
"""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bench.tomlpos import toml_line, validation_messages

QUANTITIES = (
    "air_dry_bulb",
    "air_wet_bulb",
    "water_inlet",
    "water_outlet",
    "water_flow",
    "supply_voltage",
)
QuantityName = Literal[
    "air_dry_bulb", "air_wet_bulb", "water_inlet", "water_outlet", "water_flow", "supply_voltage"
]
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class ProfileError(Exception):
    """A profile problem; str() is `file:line: field: message`, one per line."""


class UnknownProfile(ProfileError):
    """No shipped profile has this id (str() names the ones that exist)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class _Tagged(_Strict):
    # A value without its provenance cannot be checked by the lab: the tag is mandatory.
    source: str = Field(pattern=r"^\[[RXSU]\] \S")


class Limit(_Tagged):
    limit: float = Field(gt=0)


class Setting(_Tagged):
    value: float = Field(gt=0)


class Quantity(_Strict):
    """Permissible deviation of one controlled quantity from its set value."""

    title: str
    unit: Literal["K", "%"]
    mean: Limit
    individual: Limit

    @model_validator(mode="after")
    def _mean_within_individual(self) -> Quantity:
        if self.mean.limit > self.individual.limit:
            raise ValueError(
                f"mean limit {self.mean.limit:g} is wider than the individual limit "
                f"{self.individual.limit:g}"
            )
        return self

    @property
    def mean_limit(self) -> float:
        return self.mean.limit

    @property
    def individual_limit(self) -> float:
        return self.individual.limit

    @property
    def relative(self) -> bool:
        """True when the limits are a percentage of the set value."""
        return self.unit == "%"

    def band(self, set_value: float, which: Literal["mean", "individual"]) -> float:
        """Half-width of the permissible band around `set_value`, in the quantity's own unit."""
        limit = self.mean.limit if which == "mean" else self.individual.limit
        return abs(set_value) * limit / 100.0 if self.relative else limit


class Timing(_Strict):
    equilibrium_min: Setting
    collection_min: Setting
    sample_max_s: Setting
    transient_defrost_cycles: Setting
    transient_collection_min: Setting
    defrost_exclusion_min: Setting
    stabilise_timeout_min: Setting
    collection_restarts_max: Setting | None = None  # sampling gaps that restart a collection


class DecisionRule(_Strict):
    """When a point is "valid": the text printed in result.json and the report, verbatim."""

    text: str = Field(min_length=1)
    source: str = Field(min_length=1)


class Profile(_Strict):
    name: str = Field(pattern=_ID.pattern)
    version: str = Field(min_length=1)
    title: str
    quantities: dict[QuantityName, Quantity]
    timing: Timing
    decision_rule: DecisionRule | None = None

    @model_validator(mode="after")
    def _all_quantities(self) -> Profile:
        missing = [q for q in QUANTITIES if q not in self.quantities]
        if missing:
            raise ValueError(f"quantities missing: {', '.join(missing)}")
        return self


def profile_dir() -> Path:
    return Path(str(resources.files("bench.profiles")))


def available_profiles() -> list[str]:
    """Ids of the profiles shipped with hpbench."""
    return sorted(p.stem for p in profile_dir().glob("*.toml"))


def parse_profile(text: str, path: str) -> Profile:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses once per level of nested arrays / tables
        raise ProfileError(f"{path}: not valid TOML: nested too deeply") from None
    try:
        return Profile.model_validate(raw)
    except ValidationError as exc:
        raise ProfileError(validation_messages(path, text, exc, whole="profile")) from None


def _read(path: Path) -> Profile:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the name
        reason = getattr(exc, "strerror", None) or exc
        raise ProfileError(f"{path}: cannot read profile: {reason}") from None
    except UnicodeDecodeError:
        raise ProfileError(f"{path}: not a text file (UTF-8 expected)") from None
    return parse_profile(text, str(path))


def load_profile(ref: str | Path, base: Path | None = None) -> Profile:
    """A profile by id (`en14511-3`, shipped) or by path (`.toml`, relative to `base`)."""
    text = str(ref)
    if isinstance(ref, Path) or text.endswith(".toml") or "/" in text or "\\" in text:
        path = Path(text)
        if base is not None and not path.is_absolute():
            path = base / path
        return _read(path)
    if not _ID.match(text) or text not in available_profiles():
        known = ", ".join(available_profiles()) or "none"
        shown = repr(text) if len(repr(text)) <= 80 else f"{repr(text)[:76]}...'"
        raise UnknownProfile(f"unknown profile {shown}; shipped profiles: {known}")
    path = profile_dir() / f"{text}.toml"
    profile = _read(path)
    if profile.name != text:
        raise ProfileError(
            f"{path}:{toml_line(path.read_text(encoding='utf-8'), ['name'])}: name: "
            f"{profile.name!r} differs from the file's id {text!r}"
        )
    return profile
