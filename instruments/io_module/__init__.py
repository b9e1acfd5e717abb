"""Digital I/O modules: contacts the bench closes on the unit under test (SG-Ready)."""
