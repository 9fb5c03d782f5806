"""The ``tocsin`` command: operator tasks (migrate, serve, orgs, keys, demo data) run against the
database directly, each command in one transaction through the service layer."""
