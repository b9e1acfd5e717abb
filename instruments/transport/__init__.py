"""Shared transports: one line-oriented session (VISA or in-memory) that new drivers declare on."""
