"""The service catalog: services, their integrations (routing keys), maintenance windows, standalone
integrations as Grafana OnCall manages them, and the rooms told about every incident."""
