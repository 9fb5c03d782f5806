"""Outbound webhooks: subscriptions and their checks, and the signed deliveries an incident event queues."""
