"""The egress policy's decisions, without a browser: what is denied by default, what the
allow-list opens, and how a bad entry is reported."""

from __future__ import annotations

from ipaddress import ip_address

import pytest
from runwright_common.errors import SettingsError
from runwright_engine.egress.addresses import not_public
from runwright_engine.egress.policy import EgressConfigError, EgressPolicy


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.255.254", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::127.0.0.1", "loopback"),
        ("2002:7f00:1::", "loopback"),
        ("64:ff9b::7f00:1", "loopback"),
        ("169.254.169.254", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("100.100.100.200", "metadata"),
        ("169.254.10.1", "link-local"),
        ("fe80::1", "link-local"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd12:3456::1", "private"),
        ("100.64.0.1", "CGNAT"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "private"),
    ],
)
def test_local_and_special_addresses_are_denied_by_default(address: str, reason: str) -> None:
    said = not_public(ip_address(address)) or "allowed"
    assert reason in said


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "1.1.1.1"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert not_public(ip_address(address)) is None
    assert EgressPolicy().check("example.com", 443, [ip_address(address)]).allowed


def test_the_allow_list_opens_networks_addresses_ports_and_names() -> None:
    policy = EgressPolicy.parse("10.0.0.0/8, 127.0.0.1:8090 [::1]:9000 intranet.corp *.svc.local")
    loop = ip_address("127.0.0.1")
    assert policy.check("10.2.3.4", 80, [ip_address("10.2.3.4")]).allowed
    assert policy.check("127.0.0.1", 8090, [loop]).allowed
    assert not policy.check("127.0.0.1", 8091, [loop]).allowed, "the port is part of the entry"
    assert policy.check("::1", 9000, [ip_address("::1")]).allowed
    assert policy.check("::ffff:127.0.0.1", 8090, [ip_address("::ffff:127.0.0.1")]).allowed
    assert policy.check("intranet.corp", 443, [ip_address("192.168.0.5")]).allowed
    assert policy.check("Intranet.Corp.", 443, [ip_address("192.168.0.5")]).allowed
    assert policy.check("api.svc.local", 80, [ip_address("10.9.9.9")]).allowed
    assert not policy.check("svc.local.evil", 80, [ip_address("192.168.0.1")]).allowed
    assert not policy.check("notintranet.corp", 80, [ip_address("192.168.0.1")]).allowed


def test_a_name_connects_only_to_an_address_that_passes() -> None:
    """A name that answers with a public and a loopback address (a rebinding trick) is sent to
    the public one; a name that answers only with denied addresses is denied, the first named."""
    public, loop = ip_address("93.184.216.34"), ip_address("127.0.0.1")
    mixed = EgressPolicy().check("rebind.example", 80, [loop, public])
    assert mixed.allowed
    assert mixed.address == public
    denied = EgressPolicy().check("rebind.example", 80, [loop, ip_address("10.0.0.1")])
    assert not denied.allowed
    assert denied.message == (
        "blocked by the egress policy: rebind.example:80 (resolved to 127.0.0.1) is a loopback "
        "address; allow it with RUNWRIGHT_EGRESS_ALLOW"
    )


@pytest.mark.parametrize(
    ("entry", "said"),
    [
        ("10.0.0.0/33", "not a CIDR"),
        ("2130706433", "looks like a number"),
        ("0x7f000001", "looks like a number"),
        ("exa!mple.com", "not a CIDR"),
        ("127.0.0.1:0", "port"),
        ("127.0.0.1:http", "port"),
        ("[::1]x", "expected :port"),
        ("-bad-.com", "not a CIDR"),
    ],
)
def test_a_bad_entry_stops_the_executor_naming_the_variable_and_the_entry(
    entry: str, said: str
) -> None:
    with pytest.raises(EgressConfigError) as caught:
        EgressPolicy.parse(f"127.0.0.1 {entry}")
    message = str(caught.value)
    assert "RUNWRIGHT_EGRESS_ALLOW" in message
    assert repr(entry) in message
    assert said in message
    assert isinstance(caught.value, SettingsError), "the service's start-up reports it, exit 2"
