"""``python -m tocsin.cli``: the same as the ``tocsin`` script, for environments without it on PATH."""

from tocsin.cli.main import app

app(prog_name="tocsin")
