"""Which destinations a webhook may reach, without I/O: every spelling of a refused address is
read as that address and refused; the operator's allow-list lets named networks through, but
never a cloud metadata endpoint."""

import ipaddress

import pytest

from services.notifications import addresses
from services.notifications.addresses import RefusedDestination, check, literal_address, networks, refusal

LOCAL = networks("127.0.0.0/8, ::1/128")


def refused_host(host: str, resolved=(), allowed=()) -> str:
    with pytest.raises(RefusedDestination) as error:
        address = literal_address(host)
        check(host, [address] if address is not None else [ipaddress.ip_address(a) for a in resolved], allowed)
    assert error.value.rule == "url_public_address"
    return error.value.kind


@pytest.mark.parametrize(("host", "address"), [
    ("127.0.0.1", "127.0.0.1"),
    ("127.1", "127.0.0.1"),
    ("0x7f.1", "127.0.0.1"),
    ("0x7F.0.0.1", "127.0.0.1"),
    ("2130706433", "127.0.0.1"),
    ("0x7f000001", "127.0.0.1"),
    ("017700000001", "127.0.0.1"),
    ("0177.0.0.01", "127.0.0.1"),
    ("127.0.0.1.", "127.0.0.1"),
    ("0", "0.0.0.0"),
    ("0.0.0.0", "0.0.0.0"),
    ("10.1", "10.0.0.1"),
    ("::1", "::1"),
    ("::ffff:127.0.0.1", "::ffff:7f00:1"),
    ("fe80::1%25eth0", "fe80::1"),
    ("fe80::1%eth0", "fe80::1"),
    ("93.184.216.34", "93.184.216.34"),
])
def test_every_spelling_of_an_address_is_read_as_that_address(host, address):
    assert literal_address(host) == ipaddress.ip_address(address)


@pytest.mark.parametrize("host", ["hooks.example.org", "localhost", "1.2.3.4.5", "256.1", "08", "1e3", "4294967296",
                                  "0x7f.1.example.org", "example", "::g"])
def test_names_and_impossible_numbers_are_not_addresses(host):
    assert literal_address(host) is None


@pytest.mark.parametrize(("host", "reason"), [
    ("localhost", "loopback address"),
    ("LOCALHOST.", "loopback address"),
    ("api.localhost", "loopback address"),
    ("127.1", "loopback address"),
    ("0x7f.1", "loopback address"),
    ("2130706433", "loopback address"),
    ("::1", "loopback address"),
    ("::ffff:127.0.0.1", "loopback address"),
    ("0.0.0.0", "unspecified address"),
    ("::", "unspecified address"),
    ("169.254.169.254", "cloud metadata address"),
    ("169.254.170.2", "cloud metadata address"),
    ("fd00:ec2::254", "cloud metadata address"),
    ("100.100.100.200", "cloud metadata address"),
    ("::ffff:169.254.169.254", "cloud metadata address"),
    ("metadata.google.internal", "cloud metadata address"),
    ("169.254.1.1", "link-local address"),
    ("fe80::1", "link-local address"),
    ("10.0.0.5", "private address"),
    ("172.16.3.4", "private address"),
    ("192.168.1.1", "private address"),
    ("fd12:3456::1", "private address"),
    ("::ffff:10.0.0.5", "private address"),
    ("64:ff9b::10.0.0.5", "private address"),  # NAT64 of a private address
    ("2002:a00:5::1", "private address"),  # 6to4 carrying a private address
    ("224.0.0.1", "multicast address"),
    ("ff02::1", "multicast address"),
    ("100.64.0.1", "carrier-grade NAT address"),
    ("240.0.0.1", "reserved address"),
    ("255.255.255.255", "reserved address"),
    ("192.0.2.10", "non-public address"),  # documentation
    ("198.18.0.1", "non-public address"),  # benchmarking
])
def test_destinations_that_are_not_public_are_refused(host, reason):
    assert refused_host(host) == reason


@pytest.mark.parametrize("host", ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::8.8.8.8"])
def test_public_addresses_pass(host):
    check(host, [literal_address(host)])


def test_a_name_is_refused_when_any_address_it_resolves_to_is():
    check("hooks.example.org", [ipaddress.ip_address("93.184.216.34")])
    assert refused_host("hooks.example.org", ["93.184.216.34", "10.0.0.7"]) == "private address"
    assert refused_host("hooks.example.org", ["2606:4700::1111", "::1"]) == "loopback address"
    with pytest.raises(RefusedDestination) as error:
        check("hooks.example.org", [ipaddress.ip_address("10.0.0.7")])
    assert error.value.message == "refused: hooks.example.org resolves to 10.0.0.7, which is a private address"


def test_the_allow_list_lets_named_networks_through_but_never_metadata():
    check("127.0.0.1", [ipaddress.ip_address("127.0.0.1")], LOCAL)
    check("localhost", [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")], LOCAL)
    check("::ffff:127.0.0.1", [literal_address("::ffff:127.0.0.1")], LOCAL)
    assert refused_host("10.0.0.5", allowed=LOCAL) == "private address"
    assert refused_host("localhost", allowed=networks("10.0.0.0/8")) == "loopback address"
    assert refusal(ipaddress.ip_address("10.0.0.5"), networks("10.0.0.0/8")) is None
    everything = networks("0.0.0.0/0,::/0")
    assert refused_host("169.254.169.254", allowed=everything) == "cloud metadata address"
    assert refused_host("fd00:ec2::254", allowed=everything) == "cloud metadata address"
    assert refused_host("metadata.google.internal", allowed=everything) == "cloud metadata address"


def test_the_allow_list_setting():
    assert networks("") == ()
    assert networks(" 127.0.0.0/8,::1/128  10.1.2.3 ") == (
        ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"), ipaddress.ip_network("10.1.2.3/32"))
    with pytest.raises(ValueError):
        networks("127.0.0.0/33")
    with pytest.raises(ValueError):
        networks("localhost")


def test_metadata_addresses_are_all_refused_even_when_allowed():
    everything = networks("0.0.0.0/0,::/0")
    assert all(refusal(a, everything) == "cloud metadata address" for a in addresses.METADATA)
