from bench.tomlpos import toml_line

TEXT = """# comment
[station]
name = "x"

[instruments.heat_pump]
driver = "modbus_heat_pump"
address = "tcp://h:502"
options = { map = "m" }

[instruments.power_analyser]
driver = "yokogawa_wt300"
"""


def test_finds_keys_inside_their_table():
    assert toml_line(TEXT, ["station", "name"]) == 3
    assert toml_line(TEXT, ["instruments", "heat_pump", "address"]) == 7
    assert toml_line(TEXT, ["instruments", "power_analyser", "driver"]) == 11


def test_falls_back_to_the_closest_enclosing_definition():
    assert toml_line(TEXT, ["instruments", "heat_pump", "options", "map"]) == 8
    assert toml_line(TEXT, ["instruments", "heat_pump", "timeout_s"]) == 5
    assert toml_line(TEXT, ["nowhere"]) == 1
