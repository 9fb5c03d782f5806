"""Pure logic: no I/O, no SQLAlchemy, no clock. ``now`` is always an argument."""
