"""Antri's waiting-room engine: Redis only, no web imports."""
