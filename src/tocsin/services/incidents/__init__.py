"""Incidents after they exist: reading and filtering them, moving them between states, their
timeline and notes, the alerts behind them, reports, and removal."""
