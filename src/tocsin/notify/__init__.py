"""Channels: one module per way of reaching a person or a room, behind ``notify.base.Channel``."""
