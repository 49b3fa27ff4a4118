"""Network failures Chromium reports as ``net::ERR_...``: the cause, and what to check.

Such a failure keeps its error class (a failed ``goto`` is a *Navigation timeout* by the format's
order), but a wait step cannot help it, so its hint names the cause instead.
"""

from __future__ import annotations

import re

_CODE = re.compile(r"net::(ERR_[A-Z0-9_]+)")

_CAUSES: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("ERR_NAME_NOT_RESOLVED", "ERR_NAME_RESOLUTION_FAILED"),
        "The host name could not be resolved: check the URL's host for typos, and that the "
        "executor's DNS knows it (an internal name needs the executor on that network).",
    ),
    (
        ("ERR_CONNECTION_REFUSED",),
        "Nothing accepted the connection at that host and port: check the port, and that the "
        "application is running and listening where the executor can reach it.",
    ),
    (
        ("ERR_UNSAFE_PORT",),
        "Chromium never connects to this port (it is reserved for another protocol, as 6000 is "
        "for X11): serve the application on another port and update the URL.",
    ),
    (
        ("ERR_CERT_",),
        "The site's TLS certificate was not accepted (expired, self-signed, or issued for another "
        "host name): fix the certificate, or check that the URL's host matches it.",
    ),
    (
        ("ERR_SSL_",),
        "The TLS handshake failed: the server may not speak HTTPS on this port (try http://), "
        "or it offers only protocol versions or ciphers Chromium refuses.",
    ),
    (
        ("ERR_BLOCKED_BY_CLIENT", "ERR_BLOCKED_BY_ADMINISTRATOR", "ERR_BLOCKED_BY_RESPONSE"),
        "The request was blocked by a policy, not by the site: check the executor's egress rules "
        "and the browser's blocking settings for this host.",
    ),
    (
        ("ERR_ADDRESS_UNREACHABLE", "ERR_INTERNET_DISCONNECTED", "ERR_NETWORK_CHANGED"),
        "The executor has no route to that address: check its network, its proxy settings, and "
        "that the host is reachable from where the executor runs.",
    ),
    (
        ("ERR_CONNECTION_RESET", "ERR_CONNECTION_CLOSED", "ERR_EMPTY_RESPONSE"),
        "The server dropped the connection: check the server's logs, and any proxy or firewall "
        "between the executor and the site.",
    ),
    (
        ("ERR_TIMED_OUT", "ERR_CONNECTION_TIMED_OUT"),
        "The connection attempt got no answer: a firewall may be dropping the packets, or the "
        "host is down; check that the executor can reach the host and port.",
    ),
)


def network_code(text: str) -> str | None:
    """The ``ERR_...`` code in an error text, or None."""
    match = _CODE.search(text)
    return match.group(1) if match else None


def network_hint(text: str) -> str | None:
    """The hint for the network failure an error text reports, or None when it reports none
    (or one this module does not know)."""
    code = network_code(text)
    if code is None:
        return None
    for prefixes, hint in _CAUSES:
        if code.startswith(prefixes):
            return hint
    return None
