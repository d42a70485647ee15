# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Small parsers of Headscale config values, as Headscale's own Go code reads them: durations (Go's and
Prometheus's), DNS names, addresses clients can be sent to, HOST:PORT, versions. Shared by the config
builder (headscale_config) and the DERP map (headscale_derpmap). Pure Python.
"""

from __future__ import annotations

import ipaddress
import re
from fractions import Fraction
from typing import Any

DOCUMENTATION_NETS = tuple(
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)

_GO_UNIT = r"(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h)"  # time.ParseDuration's units (micro: u, micro sign, mu)
_GO_DURATION = re.compile(r"^[-+]?(?:0|(?:(?:\d+(?:\.\d*)?|\.\d+)" + _GO_UNIT + r")+)$")
_GO_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(" + _GO_UNIT[3:-1] + r")")
_GO_UNITS = {
    "ns": 1,
    "us": 10**3,
    "\u00b5s": 10**3,
    "\u03bcs": 10**3,
    "ms": 10**6,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
}
# model.ParseDuration's units in milliseconds, biggest first (the order they must appear in)
_PROM_UNITS = {"y": 365 * 86400 * 10**3, "w": 7 * 86400 * 10**3, "d": 86400 * 10**3, "h": 3600 * 10**3}
_PROM_UNITS.update({"m": 60 * 10**3, "s": 10**3, "ms": 1})
_PROM_PART = re.compile(r"(\d+)([a-z]+)")
_DNS_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")


def go_duration_ns(text: str) -> int:
    """time.ParseDuration: nanoseconds, or ValueError. Units are required except for a bare 0."""
    if not isinstance(text, str) or not _GO_DURATION.match(text):
        raise ValueError(f"{text!r} is not a Go duration (a number and a unit: 90s, 30m, 1h30m; units ns us ms s m h)")
    sign = -1 if text.startswith("-") else 1
    total = sum(Fraction(value) * _GO_UNITS[unit] for value, unit in _GO_PART.findall(text))
    if total > 2**63 - 1:
        raise ValueError(f"{text!r} is out of range (at most about 290 years)")
    return sign * int(total)


def prometheus_duration_ms(text: str) -> int:
    """model.ParseDuration (Headscale's node.expiry): milliseconds, or ValueError. Units y w d h m s ms,
    each at most once, biggest first; "0" alone needs no unit."""
    if text == "0":
        return 0
    problem = ValueError(f"{text!r} is not a duration like 180d, 90d12h, 1y or 0 (units y w d h m s ms, biggest first)")
    if not isinstance(text, str) or not text or not re.fullmatch(r"(?:\d+[a-z]+)+", text):
        raise problem
    order = list(_PROM_UNITS)
    multipliers = _PROM_UNITS
    last = -1
    total = 0
    for value, unit in _PROM_PART.findall(text):
        if unit not in multipliers or order.index(unit) <= last:
            raise problem
        last = order.index(unit)
        total += int(value) * multipliers[unit]
    if total * 10**6 > 2**63 - 1:
        raise ValueError(f"{text!r} is out of range (at most about 290 years)")
    return total


def is_dns_name(name: Any) -> bool:
    if not isinstance(name, str) or not name or len(name) > 253 or name.endswith("."):
        return False
    try:
        ipaddress.ip_address(name)
        return False
    except ValueError:
        pass
    return all(_DNS_LABEL.match(label) for label in name.split("."))


def real_address_problem(value: Any, family: int) -> str | None:
    """Why `value` is not a routable IPv4 (family 4) or IPv6 (6) address clients can be sent to, or None.
    Private addresses are fine (labs, LANs); documentation, loopback and the like are not."""
    name = "IPv4" if family == 4 else "IPv6"
    try:
        address = ipaddress.ip_address(value) if isinstance(value, str) else None
    except ValueError:
        address = None
    if address is None or address.version != family:
        return f"{value!r} is not an {name} address"
    if any(address in net for net in DOCUMENTATION_NETS):
        return f"{value} is a documentation address (RFC 5737/3849; Headscale's example config ships it)"
    for attribute, what in (
        ("is_unspecified", "unspecified"),
        ("is_loopback", "a loopback address"),
        ("is_multicast", "a multicast address"),
        ("is_link_local", "a link-local address"),
    ):
        if getattr(address, attribute):
            return f"{value} is {what}"
    if family == 4 and (address.is_reserved or address == ipaddress.ip_address("255.255.255.255")):
        return f"{value} is a reserved address"
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return f"{value} is an IPv4-mapped address; give the IPv4 address in the IPv4 variable"
    return None


def split_host_port(address: str) -> tuple[str, str]:
    """net.SplitHostPort: ('', '443') for ':443', ('::1', '80') for '[::1]:80'; ValueError otherwise."""
    if address.startswith("["):
        end = address.find("]")
        if end < 0 or address[end + 1 : end + 2] != ":":
            raise ValueError(f"{address!r} is not HOST:PORT ([IPv6]:PORT for IPv6)")
        host, port = address[1:end], address[end + 2 :]
    else:
        host, sep, port = address.rpartition(":")
        if not sep or ":" in host:
            raise ValueError(f"{address!r} is not HOST:PORT ([IPv6]:PORT for IPv6)")
    return host, port


def minor_of(version: str) -> int:
    """The minor version of `version` (29 for 0.29.3); ValueError when it is not a version."""
    return version_tuple(version)[1]


def version_tuple(version: str) -> tuple[int, int, int]:
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+].*)?", str(version).strip())
    if not match:
        raise ValueError(f"{version!r} is not a version like 0.29.3")
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)
