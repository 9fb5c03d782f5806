"""Foreign dialects: one module per product. Each only translates a foreign request into the same
ingest (or service) call the native API makes, and the result into the foreign response."""
