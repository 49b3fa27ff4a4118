"""Which addresses are not public, and why: the default-deny half of the egress policy.

IPv6 forms that carry an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible
``::a.b.c.d``, 6to4 ``2002::/16`` and NAT64 ``64:ff9b::/96``) are judged by the IPv4 address they
carry.
"""

from __future__ import annotations

import ipaddress
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

Address = IPv4Address | IPv6Address

METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
CGNAT = IPv4Network("100.64.0.0/10")
NAT64 = IPv6Network("64:ff9b::/96")


def embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, if it is one of the forms that carry one."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    value = int(address)
    if address in NAT64 or (1 < value < 1 << 32):  # NAT64, or IPv4-compatible (not :: or ::1)
        return IPv4Address(value & 0xFFFFFFFF)
    return None


def normalise(address: Address) -> Address:
    """``::ffff:127.0.0.1`` is ``127.0.0.1``; every other address is itself."""
    if isinstance(address, IPv6Address):
        return embedded_ipv4(address) or address
    return address


def not_public(address: Address) -> str | None:
    """Why ``address`` is denied by default (a phrase: "a loopback address"), or None if it is
    public."""
    address = normalise(address)
    checks: tuple[tuple[bool, str], ...] = (
        (address in METADATA, "a cloud metadata address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_unspecified, "the unspecified address"),
        (address.is_multicast, "a multicast address"),
        (isinstance(address, IPv4Address) and address in CGNAT, "a shared (CGNAT) address"),
        (address.is_private, "a private address"),
        (address.is_reserved, "a reserved address"),
        (isinstance(address, IPv6Address) and address.is_site_local, "a site-local address"),
        (not address.is_global, "not a public address"),
    )
    for hit, reason in checks:
        if hit:
            return reason
    return None
