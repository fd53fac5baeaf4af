"""Antri's aiohttp application and the `antri` command."""
