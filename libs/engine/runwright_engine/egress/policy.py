"""The egress policy: which destinations a job's browser may connect to.

Everything public is allowed; loopback, link-local, cloud metadata, private, CGNAT, unspecified,
multicast and reserved addresses are denied unless ``RUNWRIGHT_EGRESS_ALLOW`` lists them. The
list's entries (comma or space separated) are CIDRs, IP addresses, host names and ``*.example.com``
wildcards, each optionally with ``:port`` (IPv6 as ``[::1]:8080``).

The decision is made on the resolved address of each connection. A host-name entry allows that
name's connections whatever it resolves to (the operator vouches for the name); otherwise the
connection goes to the first address the name resolved to that passes, and is denied when none
does.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network

from runwright_common.errors import SettingsError

from runwright_engine.egress.addresses import Address, normalise, not_public

VARIABLE = "RUNWRIGHT_EGRESS_ALLOW"
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


class EgressConfigError(SettingsError, ValueError):
    """An allow-list entry that is not a CIDR, an address or a host name (the message names it)."""


@dataclass(frozen=True)
class Entry:
    network: IPv4Network | IPv6Network | None = None
    host: str = ""
    """A host name (lower case, no trailing dot); with ``wildcard``, the suffix after ``*.``."""
    wildcard: bool = False
    port: int | None = None

    def allows_port(self, port: int) -> bool:
        return self.port is None or self.port == port

    def allows_name(self, host: str, port: int) -> bool:
        if self.network is not None or not self.allows_port(port):
            return False
        return host.endswith("." + self.host) if self.wildcard else host == self.host

    def allows_address(self, address: Address, port: int) -> bool:
        return self.network is not None and self.allows_port(port) and address in self.network


@dataclass(frozen=True)
class Verdict:
    """Whether a connection may go ahead, and to which address (the one that was checked)."""

    host: str
    port: int
    address: Address
    reason: str | None = None
    """Why it was denied (a phrase: "a loopback address"); None when allowed."""

    @property
    def allowed(self) -> bool:
        return self.reason is None

    @property
    def destination(self) -> str:
        """``127.0.0.1:8080``, or ``localhost:8080 (resolved to 127.0.0.1)`` for a name."""
        target = f"[{self.host}]" if ":" in self.host else self.host
        said = f"{target}:{self.port}"
        if is_ip(self.host):
            return said
        return f"{said} (resolved to {self.address})"

    @property
    def message(self) -> str:
        return (
            f"blocked by the egress policy: {self.destination} is {self.reason}; "
            f"allow it with {VARIABLE}"
        )


@dataclass(frozen=True)
class EgressPolicy:
    entries: tuple[Entry, ...] = ()

    @classmethod
    def parse(cls, text: str) -> EgressPolicy:
        return cls(tuple(parse_entry(e) for e in re.split(r"[\s,]+", text.strip()) if e))

    def allows_name(self, host: str, port: int) -> bool:
        host = canonical_host(host)
        return not is_ip(host) and any(e.allows_name(host, port) for e in self.entries)

    def denial(self, address: Address, port: int) -> str | None:
        """Why a connection to ``address:port`` is denied, or None if it is allowed."""
        reason = not_public(address)
        if reason is None:
            return None
        plain = normalise(address)
        if any(e.allows_address(a, port) for e in self.entries for a in {address, plain}):
            return None
        return reason

    def check(self, host: str, port: int, addresses: list[Address]) -> Verdict:
        """The verdict on a connection to ``host:port`` that resolved to ``addresses``: allowed
        with the first address that passes (the one to connect to), else denied with the first
        address's reason."""
        host = canonical_host(host)
        if self.allows_name(host, port):
            return Verdict(host, port, addresses[0])
        reasons = [(address, self.denial(address, port)) for address in addresses]
        for address, reason in reasons:
            if reason is None:
                return Verdict(host, port, address)
        address, reason = reasons[0]
        return Verdict(host, port, address, reason)


def canonical_host(host: str) -> str:
    """Lower case, without brackets or a trailing dot (``localhost.`` is ``localhost``)."""
    return host.strip("[]").rstrip(".").lower()


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def parse_entry(text: str) -> Entry:
    """One allow-list entry; a bad one raises :class:`EgressConfigError` naming it."""
    try:
        where, port = _split_port(text)
        if where.startswith("*."):
            return Entry(host=_host_name(where[2:]), wildcard=True, port=port)
        try:
            network = ipaddress.ip_network(where, strict=False)
        except ValueError:
            return Entry(host=_host_name(where), port=port)
        return Entry(network=network, port=port)
    except ValueError as exc:
        raise EgressConfigError(f"{VARIABLE}: bad entry {text!r}: {exc}") from None


def _split_port(text: str) -> tuple[str, int | None]:
    """``[::1]:8080`` → ``::1``, 8080; ``10.0.0.0/8`` → itself, None; a bare IPv6 has no port."""
    if text.startswith("["):
        inside, _, rest = text[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise ValueError("expected :port after ]")
        return inside, _port(rest[1:]) if rest else None
    if text.count(":") == 1:
        where, _, port = text.partition(":")
        return where, _port(port)
    return text, None


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"port {text!r} is not a number from 1 to 65535")
    return int(text)


def _host_name(text: str) -> str:
    name = canonical_host(text)
    if not name or not all(_LABEL.match(label) for label in name.split(".")):
        raise ValueError("not a CIDR, an IP address or a host name")
    if name.replace(".", "").isdigit() or name.startswith("0x"):
        raise ValueError("looks like a number, not a host name or an IP address")
    return name
