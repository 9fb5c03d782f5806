"""``tocsin serve`` as a whole: the HTTP app, and the child processes it starts, watches and
restarts (the engine, and on a SQLite file the ingest writer). The layer above ``api`` and
``engine``: it is the one place that knows both, so neither has to know the other."""
