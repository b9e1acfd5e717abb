"""Heat-pump drivers (the unit under test)."""
