"""Tenants and their keys: orgs (made by an operator) and API keys (hashed, scoped, tallied)."""
