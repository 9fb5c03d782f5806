"""Shift swaps: someone on call asks for cover, someone else takes it (an override), or it expires."""
