"""The events lane: ``POST /api/events`` served ahead of FastAPI, the routing and alert limits every
inbound URL shares. (The 413 each URL space answers in its own shape is ``api.oversize``:
the body-size middleware guards every URL, not only these.)"""
