"""PagerDuty's Events API v1 and v2 (and change events): the endpoints and the reading of their bodies."""
