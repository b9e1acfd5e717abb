"""Hydraulic-module drivers (the bench's water-side conditioning and calibrated sensors)."""
