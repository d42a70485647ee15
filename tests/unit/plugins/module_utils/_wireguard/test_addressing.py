"""Endpoint parsing and tunnel-address allocation (plugins/module_utils/_wireguard/addressing.py)."""

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.wgops.fleet.plugins.module_utils._wireguard import addressing
from ansible_collections.wgops.fleet.plugins.module_utils._wireguard.addressing import EndpointError, parse_endpoint


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("vpn.example.com", "vpn.example.com:51820"),
        ("vpn.example.com:4500", "vpn.example.com:4500"),
        ("vpn.example.com.", "vpn.example.com.:51820"),
        ("gateway", "gateway:51820"),
        ("  gateway:1  ", "gateway:1"),
        ("203.0.113.7", "203.0.113.7:51820"),
        ("203.0.113.7:65535", "203.0.113.7:65535"),
        ("2001:db8::1", "[2001:db8::1]:51820"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "[2001:db8::1]:51820"),
        ("[2001:db8::1]", "[2001:db8::1]:51820"),
        ("[2001:db8::1]:443", "[2001:db8::1]:443"),
        ("[::1]:51821", "[::1]:51821"),
    ],
)
def test_parse_endpoint_normalises(text, expected):
    assert parse_endpoint(text, 51820) == expected


def test_parse_endpoint_uses_the_default_port_given():
    assert parse_endpoint("vpn.example.com", 12345) == "vpn.example.com:12345"
    assert parse_endpoint("2001:db8::1", 12345) == "[2001:db8::1]:12345"
    # an explicit port wins over the default
    assert parse_endpoint("vpn.example.com:1", 12345) == "vpn.example.com:1"


@pytest.mark.parametrize("text", ["vpn.example.com", "203.0.113.7", "2001:db8::1", "[2001:db8::1]"])
def test_parse_endpoint_without_port_or_default_fails(text):
    with pytest.raises(EndpointError, match="no port"):
        parse_endpoint(text, None)


@pytest.mark.parametrize(
    "text",
    [
        "vpn.example.com:0",
        "vpn.example.com:65536",
        "vpn.example.com:-1",
        "vpn.example.com:http",
        "vpn.example.com:",
        "203.0.113.7:99999",
        "[2001:db8::1]:0",
        "[2001:db8::1]:port",
        "[2001:db8::1]:",
    ],
)
def test_parse_endpoint_rejects_bad_port(text):
    with pytest.raises(EndpointError, match="port"):
        parse_endpoint(text, 51820)


@pytest.mark.parametrize(
    "text",
    [
        "bad host",
        "-leading-dash.example.com",
        "trailing-dash-.example.com",
        "under..dots",
        "exa!mple.com",
        "a" * 64 + ".example.com",
        "host:1:2x",  # two colons: read as an IPv6 literal, and not a valid one
        "2001:db8::zz",
        "[not-v6]:51820",
        "[203.0.113.7]:51820",
    ],
)
def test_parse_endpoint_rejects_bad_host(text):
    with pytest.raises(EndpointError):
        parse_endpoint(text, 51820)


@pytest.mark.parametrize("text", ["10.0.0.256:51820", "300.1.1.1"])
def test_parse_endpoint_rejects_malformed_ipv4(text):
    """A dotted quad with an octet above 255 is a typo, not a host name (an all-numeric top-level label is
    not a valid DNS name, RFC 3696 section 2): it must fail at plan time, not when `wg` tries to resolve it."""
    with pytest.raises(EndpointError):
        parse_endpoint(text, 51820)


@pytest.mark.parametrize("text", ["[2001:db8::1", "[2001:db8::1:51820", "["])
def test_parse_endpoint_rejects_unclosed_bracket(text):
    with pytest.raises(EndpointError, match=r"without closing"):
        parse_endpoint(text, 51820)


@pytest.mark.parametrize("text", ["[2001:db8::1]51820", "[2001:db8::1]x:1"])
def test_parse_endpoint_rejects_junk_after_bracket(text):
    with pytest.raises(EndpointError):
        parse_endpoint(text, 51820)


@pytest.mark.parametrize("value", ["", "   ", None, 51820, ["vpn.example.com"]])
def test_parse_endpoint_rejects_empty_and_non_strings(value):
    with pytest.raises(EndpointError):
        parse_endpoint(value, 51820)


@given(st.ip_addresses(v=6), st.integers(min_value=1, max_value=65535))
def test_parse_endpoint_brackets_every_ipv6_literal(address, port):
    expected = f"[{address.compressed}]:{port}"
    assert parse_endpoint(str(address), port) == expected
    assert parse_endpoint(address.exploded, port) == expected
    assert parse_endpoint(f"[{address.exploded}]:{port}", None) == expected


@given(st.ip_addresses(v=4), st.integers(min_value=1, max_value=65535))
def test_parse_endpoint_ipv4_round_trip(address, port):
    assert parse_endpoint(f"{address}:{port}", None) == f"{address}:{port}"
    assert parse_endpoint(str(address), port) == f"{address}:{port}"


# -- allocation -----------------------------------------------------------------------------------------


def offsets(interfaces):
    return [int(i.ip) - int(i.network.network_address) for i in interfaces]


def test_usable_offsets_skip_network_and_broadcast_in_ipv4_only():
    assert addressing.usable_offsets(ipaddress.ip_network("10.0.0.0/24")) == (1, 254)
    assert addressing.usable_offsets(ipaddress.ip_network("10.0.0.0/30")) == (1, 2)
    assert addressing.usable_offsets(ipaddress.ip_network("fd00::/120")) == (1, 255)


def test_allocator_gives_the_same_offset_in_v4_and_v6():
    v4, v6 = ipaddress.ip_network("10.20.30.0/24"), ipaddress.ip_network("fd00:20:30::/64")
    allocator = addressing.Allocator([v4, v6])
    seen = set()
    for _attempt in range(10):
        first, second = allocator.allocate()
        assert first.network == v4 and second.network == v6
        assert offsets([first]) == offsets([second])
        seen.add(offsets([first])[0])
    assert len(seen) == 10


def test_allocator_skips_an_offset_taken_in_either_network():
    v4, v6 = ipaddress.ip_network("10.0.0.0/24"), ipaddress.ip_network("fd00::/64")
    allocator = addressing.Allocator([v4, v6])
    allocator.take(ipaddress.ip_interface("10.0.0.1/24"))
    allocator.take(ipaddress.ip_interface("fd00::2/64"))
    allocated = allocator.allocate()
    assert [str(a) for a in allocated] == ["10.0.0.3/24", "fd00::3/64"]


def test_allocator_never_hands_out_network_or_broadcast_and_runs_out():
    network = ipaddress.ip_network("192.0.2.0/29")
    allocator = addressing.Allocator([network])
    handed = []
    while (allocated := allocator.allocate()) is not None:
        handed.extend(allocated)
    assert [str(a.ip) for a in handed] == [str(network.network_address + i) for i in range(1, 7)]
    assert allocator.allocate() is None


def test_dual_stack_allocator_is_bounded_by_the_smaller_network():
    allocator = addressing.Allocator([ipaddress.ip_network("10.0.0.0/30"), ipaddress.ip_network("fd00::/64")])
    assert [offsets(allocator.allocate()) for _attempt in range(2)] == [[1, 1], [2, 2]]
    assert allocator.allocate() is None


@given(st.sets(st.integers(min_value=1, max_value=254), max_size=40), st.integers(min_value=1, max_value=30))
def test_allocator_never_reuses_taken_offsets(taken, count):
    v4, v6 = ipaddress.ip_network("10.0.0.0/24"), ipaddress.ip_network("fd00::/64")
    allocator = addressing.Allocator([v4, v6])
    for offset in taken:
        allocator.take(ipaddress.ip_interface(f"{v4.network_address + offset}/24"))
    results = [allocator.allocate() for _attempt in range(count)]
    got = [offsets(pair) for pair in results]
    assert all(a == b for a, b in got)
    flat = [pair[0] for pair in got]
    assert len(set(flat)) == len(flat)
    assert not set(flat) & taken
    # lowest free offsets first
    assert flat == sorted(set(range(1, 255)) - taken)[:count]


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("udp://vpn.example:51820", "'vpn.example:51820'"),
        ("https://vpn.example/wireguard", "'vpn.example'"),
        ("wg://[2001:db8::1]:51820", "'[2001:db8::1]:51820'"),
    ],
)
def test_parse_endpoint_explains_urls(text, hint):
    with pytest.raises(EndpointError, match="is a URL") as info:
        parse_endpoint(text, 51820)
    assert hint in str(info.value)


@pytest.mark.parametrize(
    ("text", "fix"),
    [("2001:db8::1:51820", "[2001:db8::1]:51820"), ("fd00:1:2:3:4:5:6:7:443", "[fd00:1:2:3:4:5:6:7]:443")],
)
def test_parse_endpoint_explains_unbracketed_ipv6_with_a_port(text, fix):
    with pytest.raises(EndpointError, match="looks like an IPv6 address with a port") as info:
        parse_endpoint(text, 51820)
    assert f"write {fix}" in str(info.value)


@pytest.mark.parametrize(
    "text", ["vpn.exa\nmple", "vpn.example:51820\nPostUp", "[fe80::1%eth0\nx]:1", "fe80::1%a b", "host: 51820"]
)
def test_parse_endpoint_refuses_embedded_control_characters_and_spaces(text):
    with pytest.raises(EndpointError):
        parse_endpoint(text, 51820)


def test_parse_endpoint_keeps_a_scoped_link_local_address():
    assert parse_endpoint("[fe80::1%eth0]:51820", None) == "[fe80::1%eth0]:51820"
