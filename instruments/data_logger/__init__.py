"""Data loggers: the bench's own water and air sensors (Pt100s, thermocouples, 4-20 mA)."""
