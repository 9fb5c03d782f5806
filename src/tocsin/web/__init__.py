"""The web UI people use: server-rendered pages (Jinja2), htmx, and live updates over SSE.

A layer beside ``api`` and ``engine``: it calls ``services`` and never the API, and neither imports
the other. ``server.app`` joins the two into the one ASGI app ``tocsin serve`` runs."""
