"""Climate chamber drivers (role `climate_chamber`), one module per make."""
