"""The point payload of a load-based point carries its results (docs/standards.md §7)."""

from types import SimpleNamespace

import jsonschema
import pytest

from bench.run.sequencer import PointOutcome
from bench.telemetry.payloads import point_payload

# the keys bench.run.loadbased.load_based_record writes, with a run's kind of values
RECORD = {
    "setting": {"plc": 0.1538, "building": "one_mass"},
    "parameters": {"c_h_j_k": 1.6e6},
    "window": {"start": 1000.0, "end": 5140.0, "duration_s": 4140.0},
    "cycling": True,
    "heat_kwh": 1.598,
    "electric_kwh": 0.243,
    "capacity_w": 1389.4,
    "power_w": 211.6,
    "cop": 6.57,
    "load_demanded_w": 1384.2,
    "load_achieved_w": 1389.4,
    "load_achieved_pct": 100.4,
    "compressor_starts": 1,
    "starts_per_hour": 0.87,
    "on_times_s": [1820.0],
    "off_times_s": [2320.0],
    "defrosts": 0,
    "emulation": {
        "steps": 3718,
        "missed_steps": 0,
        "unacknowledged": 3,
        "tracking_error_mean_k": 0.008,
        "tracking_error_p95_k": 0.053,
        "model_heat_kwh": 1.597,
        "model_balance_pct": -3e-13,
        "heat_model_vs_measured_pct": -0.96,
    },
}


def payload(load_based):
    spec = SimpleNamespace(index=3, id="D")
    outcome = PointOutcome(spec, "valid", "", 0.0, 5140.0, load_based=load_based)  # type: ignore[arg-type]
    return point_payload("bench-1", None, outcome, {"cop": 6.57})


def test_a_load_based_point_payload_carries_its_results_and_fits_the_schema(schema_validator):
    body = payload(RECORD)
    schema_validator("point", body)
    assert body["load_based"]["load_achieved_pct"] == 100.4
    assert body["load_based"]["emulation"]["tracking_error_p95_k"] == 0.053
    assert "load_based" not in payload(None)  # a steady point: no such field
    schema_validator("point", payload(None))


def test_the_schema_refuses_a_load_based_record_of_the_wrong_shape(schema_validator):
    with pytest.raises(jsonschema.ValidationError):
        schema_validator("point", payload({**RECORD, "compressor_starts": "three"}))
