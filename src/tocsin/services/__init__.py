"""Use-cases. Functions take ``session`` keyword-only, may flush, never commit: the caller owns the
transaction (an API request, a CLI command, an engine job, or the ingest group commit)."""
