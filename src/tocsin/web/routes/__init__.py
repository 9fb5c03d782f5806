"""The web layer's routes, one module per screen or stream."""
