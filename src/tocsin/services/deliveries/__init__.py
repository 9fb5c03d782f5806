"""Delivery channels as an org sees them: every provider attempt recorded, and the health view."""
