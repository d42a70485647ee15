# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parse what ``wg show`` and ``ip -j addr show`` print into the records wireguard_info returns.

Pure Python, no Ansible imports. Only secret-free ``wg show all FIELD`` outputs are read (wg(8): with
``all`` every line starts with the interface name, then tab-separated fields). ``private-key`` and
``dump`` print the interface's private key and are never asked for. ``preshared-keys`` prints the
peers' preshared keys: parse_field reduces each to whether one is set as it splits the line, so no key
reaches a returned value or an error message (errors name the field and the line number only).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

# The `wg show all FIELD` outputs read, in the order they are read. Never "private-key" or "dump".
DEVICE_FIELDS = ("public-key", "listen-port", "fwmark")
PEER_FIELDS = (
    "peers",
    "endpoints",
    "allowed-ips",
    "latest-handshakes",
    "transfer",
    "persistent-keepalive",
    "preshared-keys",
)
FIELDS = DEVICE_FIELDS + PEER_FIELDS
NONE = "(none)"


class WireGuardShowError(ValueError):
    """Output that is not what wg(8) prints; the message never quotes the line (it may hold a key)."""


def _number(text: str, field: str, lineno: int) -> int:
    if not text.isdigit():
        raise WireGuardShowError(f"wg show all {field}: line {lineno}: expected a number")
    return int(text)


def _fwmark(text: str, field: str, lineno: int) -> int | None:
    if text == "off":
        return None
    if text.startswith("0x"):
        try:
            return int(text, 16)
        except ValueError:
            pass
    raise WireGuardShowError(f"wg show all {field}: line {lineno}: expected 'off' or a hexadecimal fwmark")


def _value(field: str, values: list[str], lineno: int) -> Any:
    """The value of one line's fields after the interface (and, for peer fields, the peer key)."""
    if field == "preshared-keys":  # reduced to a boolean first: the key itself goes no further
        return values[0] != NONE
    if field == "public-key":
        return None if values[0] == NONE else values[0]
    if field == "listen-port":
        return _number(values[0], field, lineno)
    if field == "fwmark":
        return _fwmark(values[0], field, lineno)
    if field == "peers":
        return True
    if field == "endpoints":
        return None if values[0] == NONE else values[0]
    if field == "allowed-ips":
        return [] if values[0] == NONE else values[0].split()
    if field == "latest-handshakes":
        return _number(values[0], field, lineno) or None
    if field == "transfer":
        return (_number(values[0], field, lineno), _number(values[1], field, lineno))
    if field == "persistent-keepalive":
        return None if values[0] == "off" else _number(values[0], field, lineno)
    raise WireGuardShowError(f"wg show all {field}: not a field this parser reads")


# fields per line after the interface name: device fields one value, peer fields a key and values
_WIDTH = {"peers": 1, "transfer": 3}


def parse_field(field: str, text: str) -> dict[str, Any]:
    """``wg show all FIELD`` as {interface: value} (device fields) or {interface: {peer key: value}}."""
    if field not in FIELDS:
        raise WireGuardShowError(f"wg show all {field}: not a field this parser reads")
    width = _WIDTH.get(field, 1 if field in DEVICE_FIELDS else 2)
    result: dict[str, Any] = {}
    interface = ""
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        # wireguard-tools up to at least 1.0.20210914 (Debian 12 and 13) print the interface name of
        # `wg show all endpoints` once, before its first peer: later peers' lines are "KEY<TAB>ENDPOINT".
        if field == "endpoints" and len(parts) == width and interface and all(parts):
            parts = [interface, *parts]
        if len(parts) != width + 1 or not all(parts):
            raise WireGuardShowError(
                f"wg show all {field}: line {lineno}: expected {width + 1} tab-separated fields, got {len(parts)}"
            )
        interface, rest = parts[0], parts[1:]
        if field in DEVICE_FIELDS:
            result[interface] = _value(field, rest, lineno)
        else:
            result.setdefault(interface, {})[rest[0]] = _value(field, rest[1:], lineno)
    return result


def parse_interface_names(text: str) -> list[str]:
    """``wg show interfaces``: the names on one line, separated by spaces (nothing when there are none)."""
    return text.split()


def parse_ip_addr(text: str, name: str) -> dict[str, Any] | None:
    """``ip -j addr show dev NAME``: addresses, MTU and whether the link is up; None when NAME is not in it."""
    try:
        links = json.loads(text or "[]")
    except ValueError:
        raise WireGuardShowError(f"ip -j addr show dev {name}: not JSON") from None
    # iproute2 before 5.x printed an empty object for every link the filter left out
    link = next((item for item in links if isinstance(item, dict) and item.get("ifname") == name), None)
    if link is None:
        return None
    addresses = [
        {
            "address": info["local"],
            "prefixlen": info.get("prefixlen"),
            "family": info.get("family"),
            "scope": info.get("scope"),
        }
        for info in link.get("addr_info", [])
        if isinstance(info, dict) and "local" in info
    ]
    return {"addresses": addresses, "mtu": link.get("mtu"), "up": "UP" in link.get("flags", [])}


def interface_record(name: str, fields: Mapping[str, Mapping[str, Any]], now: float) -> dict[str, Any] | None:
    """One interface from the parsed fields (parse_field per FIELDS); None when it vanished while being read.

    A peer is reported only when every peer table holds it (one added or removed between two reads is
    left out), sorted by public key; ``handshake_age`` is counted from ``now`` (the host's clock).
    """
    if any(name not in fields.get(field, {}) for field in DEVICE_FIELDS):
        return None
    tables = [fields.get(field, {}).get(name, {}) for field in PEER_FIELDS]
    keys = sorted(key for key in tables[0] if all(key in table for table in tables[1:]))
    endpoints, allowed_ips, handshakes, transfer, keepalive, psk = tables[1:]
    peers = []
    for key in keys:
        handshake = handshakes[key]
        peers.append(
            {
                "public_key": key,
                "endpoint": endpoints[key],
                "allowed_ips": allowed_ips[key],
                "latest_handshake": handshake,
                "handshake_age": None if handshake is None else max(0, int(now) - handshake),
                "rx_bytes": transfer[key][0],
                "tx_bytes": transfer[key][1],
                "persistent_keepalive": keepalive[key],
                "preshared_key": psk[key],
            }
        )
    return {
        "name": name,
        "public_key": fields["public-key"][name],
        "listen_port": fields["listen-port"][name],
        "fwmark": fields["fwmark"][name],
        "peers": peers,
    }
