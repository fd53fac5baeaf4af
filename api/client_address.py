"""The client's address, as budgets count it: an IPv4 address, or the /64 of an IPv6 one.

A /64 is what one IPv6 subscriber gets (a phone picks a fresh address in it at will), so
counting whole addresses there would count nothing. Behind a reverse proxy the peer is the proxy:
the client is then read from X-Forwarded-For, but only when the peer is one of
`ANTRI_TRUSTED_PROXIES` (anyone else could write any address there).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

from aiohttp import web

Network = IPv4Network | IPv6Network
Address = IPv4Address | IPv6Address

UNKNOWN = "unknown"


def parse_networks(text: str) -> tuple[Network, ...]:
    """`"10.0.0.0/8, 2001:db8::/32"` as networks; raises ValueError naming a bad entry."""
    networks = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            networks.append(ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"{part!r} is not an address or a CIDR network") from None
    return tuple(networks)


def client_address(request: web.Request, trusted: Iterable[Network]) -> str:
    """The key of the request's client (see the module docstring); UNKNOWN if it has none."""
    trusted = tuple(trusted)
    if not trusted:
        return _peer_key(request.remote)
    peer = _address(request.remote)
    if peer is None:
        return UNKNOWN
    if _within(peer, trusted):
        # The rightmost address no trusted proxy wrote is the client's: entries further left
        # came from the client itself and prove nothing.
        for hop in reversed(request.headers.get("X-Forwarded-For", "").split(",")):
            address = _address(hop.strip())
            if address is None:
                break
            peer = address
            if not _within(address, trusted):
                break
    return _key(peer)


@lru_cache(maxsize=4096)
def _peer_key(text: str | None) -> str:
    """The key of a peer's address text, remembered: parsing it is most of a join's address
    check, and a crowd's peers repeat (one address per connection, many joins per address)."""
    address = _address(text)
    return UNKNOWN if address is None else _key(address)


def _address(text: str | None) -> Address | None:
    if not text:
        return None
    try:
        address = ip_address(text)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _within(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def _key(address: Address) -> str:
    if isinstance(address, IPv4Address):
        return str(address)
    return str(IPv6Network((int(address) >> 64 << 64, 64)))
