"""The durable engine: a job loop that runs escalation steps, notifications and webhook deliveries."""
