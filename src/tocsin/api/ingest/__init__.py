"""The events lane: ``POST /api/events`` served ahead of FastAPI, the routing and alert limits every
inbound URL shares, and the 413 each URL space answers in its own shape."""
