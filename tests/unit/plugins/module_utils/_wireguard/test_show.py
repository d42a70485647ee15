"""wireguard_show: `wg show all FIELD` and `ip -j addr show` parsed into records, with no key ever kept."""

import json

import pytest
from helpers.wireguard_fake import (
    IP_ADDR,
    NOW,
    PEER_A,
    PEER_B,
    PEER_C,
    PSK_A,
    PSK_C,
    PUB0,
    SECRETS,
    WG_SECRET_COMMANDS,
    WG_SHOW_ALL,
    key,
)

from ansible_collections.wgops.fleet.plugins.module_utils._wireguard import show as ws


def parsed_fields(outputs=None):
    outputs = WG_SHOW_ALL if outputs is None else outputs
    return {field: ws.parse_field(field, outputs[field]) for field in ws.FIELDS}


def test_device_fields():
    assert ws.parse_field("public-key", WG_SHOW_ALL["public-key"]) == {"wg0": PUB0, "wg1": None}
    assert ws.parse_field("listen-port", WG_SHOW_ALL["listen-port"]) == {"wg0": 51820, "wg1": 0}
    assert ws.parse_field("fwmark", WG_SHOW_ALL["fwmark"]) == {"wg0": None, "wg1": 51820}  # 0xca6c


def test_peer_fields():
    assert ws.parse_field("endpoints", WG_SHOW_ALL["endpoints"]) == {
        "wg0": {PEER_C: "[2001:db8::3]:51820", PEER_A: "192.0.2.10:51820", PEER_B: None}
    }
    assert ws.parse_field("allowed-ips", WG_SHOW_ALL["allowed-ips"])["wg0"] == {
        PEER_C: ["10.90.0.3/32", "10.1.0.0/16"],
        PEER_A: ["10.90.0.2/32", "fd90::2/128"],
        PEER_B: [],
    }
    assert ws.parse_field("latest-handshakes", WG_SHOW_ALL["latest-handshakes"])["wg0"] == {
        PEER_C: NOW - 10,
        PEER_A: NOW - 100,
        PEER_B: None,
    }
    assert ws.parse_field("transfer", WG_SHOW_ALL["transfer"])["wg0"] == {
        PEER_C: (5, 6),
        PEER_A: (1000, 2000),
        PEER_B: (0, 0),
    }
    assert ws.parse_field("persistent-keepalive", WG_SHOW_ALL["persistent-keepalive"])["wg0"] == {
        PEER_C: None,
        PEER_A: 25,
        PEER_B: None,
    }
    assert ws.parse_field("preshared-keys", WG_SHOW_ALL["preshared-keys"]) == {
        "wg0": {PEER_C: True, PEER_A: True, PEER_B: False}
    }
    assert list(ws.parse_field("peers", WG_SHOW_ALL["peers"])["wg0"]) == [PEER_C, PEER_A, PEER_B]


def test_empty_outputs():
    assert ws.parse_field("peers", "") == {}
    assert ws.parse_field("public-key", "\n") == {}
    assert ws.parse_interface_names("") == []
    assert ws.parse_interface_names("wg0 wg-lab\n") == ["wg0", "wg-lab"]


def test_interface_record():
    wg0 = ws.interface_record("wg0", parsed_fields(), NOW)
    assert wg0 == {
        "name": "wg0",
        "public_key": PUB0,
        "listen_port": 51820,
        "fwmark": None,
        "peers": sorted(
            [
                {
                    "public_key": PEER_A,
                    "endpoint": "192.0.2.10:51820",
                    "allowed_ips": ["10.90.0.2/32", "fd90::2/128"],
                    "latest_handshake": NOW - 100,
                    "handshake_age": 100,
                    "rx_bytes": 1000,
                    "tx_bytes": 2000,
                    "persistent_keepalive": 25,
                    "preshared_key": True,
                },
                {
                    "public_key": PEER_B,
                    "endpoint": None,
                    "allowed_ips": [],
                    "latest_handshake": None,
                    "handshake_age": None,
                    "rx_bytes": 0,
                    "tx_bytes": 0,
                    "persistent_keepalive": None,
                    "preshared_key": False,
                },
                {
                    "public_key": PEER_C,
                    "endpoint": "[2001:db8::3]:51820",
                    "allowed_ips": ["10.90.0.3/32", "10.1.0.0/16"],
                    "latest_handshake": NOW - 10,
                    "handshake_age": 10,
                    "rx_bytes": 5,
                    "tx_bytes": 6,
                    "persistent_keepalive": None,
                    "preshared_key": True,
                },
            ],
            key=lambda peer: peer["public_key"],
        ),
    }
    assert ws.interface_record("wg1", parsed_fields(), NOW) == {
        "name": "wg1",
        "public_key": None,
        "listen_port": 0,
        "fwmark": 0xCA6C,
        "peers": [],
    }


def test_handshake_in_the_future_by_the_host_clock_is_age_zero():
    ages = {p["public_key"]: p["handshake_age"] for p in ws.interface_record("wg0", parsed_fields(), NOW - 50)["peers"]}
    assert ages == {PEER_A: 50, PEER_B: None, PEER_C: 0}


def test_peer_added_or_removed_between_reads_is_left_out():
    late = key("peer added after `peers` was read")
    outputs = dict(WG_SHOW_ALL)
    outputs["transfer"] += f"wg0\t{late}\t1\t1\n"  # in a later table only
    outputs["preshared-keys"] = "".join(
        line + "\n" for line in outputs["preshared-keys"].splitlines() if PEER_B not in line
    )
    peers = ws.interface_record("wg0", parsed_fields(outputs), NOW)["peers"]
    assert sorted(p["public_key"] for p in peers) == sorted([PEER_A, PEER_C])


def test_interface_gone_between_reads_is_none():
    outputs = dict(WG_SHOW_ALL, fwmark="wg0\toff\n")
    assert ws.interface_record("wg1", parsed_fields(outputs), NOW) is None
    assert ws.interface_record("wg9", parsed_fields(), NOW) is None


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("transfer", f"wg0\t{PEER_A}\t1000\n"),
        ("latest-handshakes", f"wg0\t{PEER_A}\tyesterday\n"),
        ("listen-port", "wg0\t-1\n"),
        ("fwmark", "wg0\t51820\n"),
        ("preshared-keys", f"wg0\t{PEER_A}\t{PSK_A}\textra\n"),
        ("preshared-keys", f"{PEER_A} {PSK_A}\n"),  # spaces, as a different tool would print
        ("endpoints", f"{PEER_A}\t192.0.2.10:51820\n"),  # `wg show IF`, without the interface column
    ],
)
def test_malformed_output_is_refused_without_quoting_it(field, text):
    with pytest.raises(ws.WireGuardShowError) as exc:
        ws.parse_field(field, text)
    message = str(exc.value)
    assert f"wg show all {field}: line 1:" in message
    for secret in (PSK_A, PEER_A):
        assert secret not in message


@pytest.mark.parametrize("field", ["private-key", "dump"])
def test_secret_fields_are_not_parsed(field):
    text = WG_SECRET_COMMANDS[("show", "all", field)]
    with pytest.raises(ws.WireGuardShowError) as exc:
        ws.parse_field(field, text)
    assert all(secret not in str(exc.value) for secret in SECRETS)


def test_no_secret_in_any_output():
    fields = parsed_fields()
    records = [ws.interface_record(name, fields, NOW) for name in ("wg0", "wg1")]
    for text in (json.dumps(fields, default=list), json.dumps(records)):
        assert PUB0 in text and PEER_A in text  # the public keys are there, so the search is meaningful
        for secret in SECRETS:
            assert secret not in text
    assert PSK_A in WG_SHOW_ALL["preshared-keys"] and PSK_C in WG_SHOW_ALL["preshared-keys"]


def test_ip_addr():
    assert ws.parse_ip_addr(IP_ADDR["wg0"], "wg0") == {
        "addresses": [
            {"address": "10.90.0.1", "prefixlen": 24, "family": "inet", "scope": "global"},
            {"address": "fd90::1", "prefixlen": 64, "family": "inet6", "scope": "global"},
            {"address": "fe80::1", "prefixlen": 64, "family": "inet6", "scope": "link"},
        ],
        "mtu": 1420,
        "up": True,
    }
    # the old iproute2 empty objects are skipped; no UP flag is down
    assert ws.parse_ip_addr(IP_ADDR["wg1"], "wg1") == {
        "addresses": [{"address": "10.91.0.1", "prefixlen": 24, "family": "inet", "scope": "global"}],
        "mtu": 1280,
        "up": False,
    }
    assert ws.parse_ip_addr(IP_ADDR["wg0"], "wg1") is None
    assert ws.parse_ip_addr("", "wg0") is None
    with pytest.raises(ws.WireGuardShowError, match="not JSON"):
        ws.parse_ip_addr("Device not found", "wg0")


def test_endpoints_with_the_interface_on_every_line_parse_the_same():
    """Newer wireguard-tools print the interface before every peer of `wg show all endpoints`."""
    every_line = "".join(
        line if line.startswith("wg0\t") else f"wg0\t{line}"
        for line in WG_SHOW_ALL["endpoints"].splitlines(keepends=True)
    )
    assert every_line != WG_SHOW_ALL["endpoints"]
    assert ws.parse_field("endpoints", every_line) == ws.parse_field("endpoints", WG_SHOW_ALL["endpoints"])


def test_endpoints_of_two_interfaces_in_debians_shape():
    text = f"wg0\t{PEER_A}\t192.0.2.10:51820\n{PEER_B}\t(none)\nwg1\t{PEER_C}\t192.0.2.30:51820\n"
    assert ws.parse_field("endpoints", text) == {
        "wg0": {PEER_A: "192.0.2.10:51820", PEER_B: None},
        "wg1": {PEER_C: "192.0.2.30:51820"},
    }
