"""Measurement maths: plain, pure functions over numbers, tested against published values.

``water``        liquid water ρ, cp, h (IAPWS-IF97 through CoolProp)
``psychro``      relative humidity ↔ wet bulb (CoolProp HAPropsSI)
``capacity``     Φh, P_E (raw and pump-corrected), COP; integration over defrost cycles
``uncertainty``  GUM propagation of Φh, P_E and COP
``accuracy``     a station's accuracy keys and `[uncertainty]` table → GUM inputs
``point``        the one point calculation: Φh, P_E, COP and their uncertainty from samples
``scop``         EN 14825 SCOP, SCOPon, SCOPnet, QHE, ηs
``sheet``        data-sheet YAML → validated inputs → ``hpbench scop``

References are docs/standards.md sections; tags [R] [X] [S] [U] say how well a number is sourced.
Every [U] value is a parameter here, never a constant.
"""
