"""Demo data for ``make run``: an org whose people, services, policy and schedule show every feature."""
