"""Heat meters: an independent capacity cross-check on the water circuit."""
