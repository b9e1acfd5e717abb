"""Power analyser drivers (the `power_analyser` role)."""

from instruments.power_analyser.yokogawa_wt300 import YokogawaWT300

__all__ = ["YokogawaWT300"]
