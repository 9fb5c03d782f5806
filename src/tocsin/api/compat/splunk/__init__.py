"""Splunk On-Call (VictorOps): its REST endpoint integration (``inbound``) and its public and
reporting APIs (``public``)."""
