"""The key every per-address limit counts a request under (joins, logins, billing lookups,
officer logins): one definition, so that behind a trusted proxy none of them counts the proxy."""

from __future__ import annotations

from aiohttp import web

from .appkeys import SETTINGS
from .client_address import client_address


def caller(request: web.Request) -> str:
    """The client's address key (IPv4, or the IPv6 /64), read through `ANTRI_TRUSTED_PROXIES`."""
    return client_address(request, request.config_dict[SETTINGS].trusted_proxies)
