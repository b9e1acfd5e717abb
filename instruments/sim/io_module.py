"""The simulated digital-output module (map `moxa_iologik_e1211`) on the generic map simulator.

Its outputs are plain memory: every output reads off until a client writes it, then what was
written, so a read-back confirms a write exactly as on the module. With `sg_ready` (the two
outputs wired to the unit's SG-Ready contacts 1 and 2, as on the simulated bench) the unit
obeys the contacts: state 1 "blocked" stops it, any other state lets it run
(docs/protocols.md §3.3). Until a client writes one of them the unit is left as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from instruments.sim.modbus_servers import Binding, ModbusDeviceSim
from instruments.sim.model import BenchModel


class DigitalOutputSim(ModbusDeviceSim):
    role: ClassVar[str] = "io_module"
    default_map: ClassVar[str] = "moxa_iologik_e1211"

    def __init__(
        self, model: BenchModel, *, sg_ready: tuple[str, str] | None = None, **kw: Any
    ) -> None:
        super().__init__(model, **kw)
        if sg_ready is not None:
            self.bindings = self._wired(sg_ready)

    def _wired(self, contacts: tuple[str, str]) -> Mapping[str, Binding]:
        def binding(name: str) -> Binding:
            def read(model: BenchModel) -> float:
                return self._store.get(name, 0.0)

            def write(model: BenchModel, value: float) -> None:
                self._store[name] = value
                c1, c2 = (bool(self._store.get(c)) for c in contacts)
                model.heat_pump.running = not (c1 and not c2)  # (1, 0): state 1, blocked

            return Binding(read, write)

        return {c: binding(c) for c in contacts}
