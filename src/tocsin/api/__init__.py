"""The HTTP surface: FastAPI app, auth, errors, pagination, rate limits, native and compat routes."""
