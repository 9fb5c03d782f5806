"""Events in, deduplicated incidents out: the one open-or-append path every inbound dialect ends in,
the ingest writer child that commits batches on SQLite, the wire to it, and change events."""
