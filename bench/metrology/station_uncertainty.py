"""The station's `[uncertainty]` table: budget inputs that belong to the bench, not to one
instrument, each with the source it comes from (a lab's own evaluation, a published formulation).

    [uncertainty]
    heat_loss_w = { value = 50, source = "..." }          ± limit of the test section's heat
                                                           exchange with the room, W
    rho_pct = { value = 0.0015, source = "..." }         ± limit of ρ from IAPWS-IF97, %
    cp_pct = { value = 0.1, divisor = 2, source = "..." }  cp from IAPWS-IF97, %
    capacity_per_k_outlet_pct = { value = -1.5, source = "..." }   dΦ/Φ per K of outlet, %/K
    capacity_per_k_air_pct = { value = 3.0, source = "..." }       dΦ/Φ per K of air, %/K
    power_per_k_outlet_pct = { value = 2.0, source = "..." }       dP/P per K of outlet, %/K
    power_per_k_air_pct = { value = 0.5, source = "..." }          dP/P per K of air, %/K

Limits become standard uncertainties through `divisor` (default √3, rectangular, GUM 4.3.7).
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Limit(_Strict):
    """A ± limit (or a coefficient) and where it comes from."""

    value: float = Field(allow_inf_nan=False)
    source: str = Field(min_length=1, max_length=500)
    divisor: float = Field(default=math.sqrt(3.0), gt=0)

    @property
    def standard(self) -> float:
        return abs(self.value) / self.divisor


class StationUncertainty(_Strict):
    heat_loss_w: Limit | None = None
    rho_pct: Limit | None = None
    cp_pct: Limit | None = None
    capacity_per_k_outlet_pct: Limit | None = None
    capacity_per_k_air_pct: Limit | None = None
    power_per_k_outlet_pct: Limit | None = None
    power_per_k_air_pct: Limit | None = None
