"""Incidents after they exist: reading and filtering them, moving them between states, their
timeline and notes, the alerts behind them, reports, and removal."""

# Registers the flush hook that announces incident changes on PostgreSQL, in every process that
# writes incidents (server, engine, ingest writer): any of them imports this package first.
from tocsin.services.incidents import changes as changes
