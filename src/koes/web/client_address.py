"""The client's address for a security decision (who may read ``GET /metrics``).

The address is the direct peer's, the other end of the connection, unless that peer is one of the
reverse proxies in ``KOES_TRUSTED_PROXIES``. Only then is ``X-Forwarded-For`` read, and from the
right: each proxy appends the address it was called from, so the right-most entries were written
by proxies we trust and the first untrusted one from the right is the client. Everything left of
it was written by the client and could say anything. With no trusted proxies (the default) no
header is believed: a client cannot choose its own address.

An IPv4 address seen as an IPv4-mapped IPv6 address (a server listening on ``::``) counts as the
IPv4 address. ``koes serve`` hands uvicorn the same trusted proxies, so the scheme a trusted proxy
forwards (``X-Forwarded-Proto``) is believed from the same peers and no others.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence

from starlette.requests import Request

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=16)
def networks(text: str) -> tuple[Network, ...]:
    """The comma-separated addresses and networks of a setting (``10.0.0.5, 10.1.0.0/16``)."""
    return tuple(ipaddress.ip_network(n.strip(), strict=False) for n in text.split(",") if n.strip())


def parse_address(text: str) -> Address | None:
    """An address as a peer or a proxy writes it (``[::1]:443`` and ``10.0.0.1:80`` too); None if it is none."""
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_address(peer: str, forwarded_for: Sequence[str], trusted_proxies: str) -> str:
    """The client's address: ``peer``, or through trusted proxies the right-most untrusted forwarded entry.

    ``forwarded_for`` holds the ``X-Forwarded-For`` header values in order. When every entry is a
    trusted proxy, the left-most is the farthest one known. An entry that is no address is returned
    as written: no network holds it, so it is refused like a client without an address.
    """
    trusted = networks(trusted_proxies)

    def is_trusted(text: str) -> bool:
        address = parse_address(text)
        return address is not None and any(address in network for network in trusted)

    if not is_trusted(peer):
        return _canonical(peer)
    hops = [entry.strip() for value in forwarded_for for entry in value.split(",") if entry.strip()]
    for hop in reversed(hops):
        if not is_trusted(hop):
            return _canonical(hop)
    return _canonical(hops[0]) if hops else _canonical(peer)


def request_client_address(request: Request, trusted_proxies: str) -> str:
    """:func:`client_address` of a request ("" for a client without an address, such as a Unix socket)."""
    peer = request.client.host if request.client else ""
    return client_address(peer, request.headers.getlist("x-forwarded-for"), trusted_proxies)


def address_allowed(client: str, allowed: str) -> bool:
    """Is ``client`` (an IP address) inside one of the comma-separated networks of ``allowed``?"""
    address = parse_address(client)
    # A client without an IP address (a Unix socket, a test client, a forged entry) is not allowed.
    return address is not None and any(address in network for network in networks(allowed))


def _canonical(text: str) -> str:
    address = parse_address(text)
    return str(address) if address is not None else text.strip()
