# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Endpoints and tunnel-address allocation. Pure Python, no Ansible imports."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from typing import Union

IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]  # noqa: UP007 (module_utils also run on Python 3.9)
IPInterface = Union[ipaddress.IPv4Interface, ipaddress.IPv6Interface]  # noqa: UP007

_ALL_NUMERIC = re.compile(r"[0-9.]+")
HOSTNAME = re.compile(
    r"(?=.{1,253}\Z)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*\.?"
)
_SCOPE = re.compile(r"[A-Za-z0-9_.=+-]{1,15}")
_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://([^/]*)(/.*)?", re.DOTALL)


class EndpointError(ValueError):
    pass


def parse_endpoint(text: str, default_port: int | None) -> str:
    """Normalise `host`, `host:port`, a bare IPv6 literal or `[v6]:port` to `host:port` / `[v6]:port`."""
    if not isinstance(text, str) or not text.strip():
        raise EndpointError("must be a non-empty string like 'vpn.example.com', 'host:51820' or '[2001:db8::1]:51820'")
    text = text.strip()
    url = _URL.fullmatch(text)
    if url:
        raise EndpointError(
            f"'{text}' is a URL; give only the host and port WireGuard sends UDP to, such as '{url.group(2) or 'host'}'"
        )
    port: int | str | None = None
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep:
            raise EndpointError(f"'{text}' opens '[' without closing ']'")
        if rest:
            if not rest.startswith(":"):
                raise EndpointError(f"'{text}': expected ':port' after ']'")
            port = rest[1:]
        _ipv6_literal(host, text)
    elif text.count(":") > 1:
        host = text
        head, _sep, tail = text.rpartition(":")
        if not _is_ipv6(text) and tail.isdigit() and _is_ipv6(head):
            raise EndpointError(f"'{text}' looks like an IPv6 address with a port; write [{head}]:{tail}")
        _ipv6_literal(host, text)
    else:
        host, sep, port_text = text.partition(":")
        if sep:
            port = port_text
        if not _is_ipv4(host):
            if _ALL_NUMERIC.fullmatch(host):
                raise EndpointError(f"'{host}' looks like an IPv4 address but is not a valid one")
            if not HOSTNAME.fullmatch(host):
                raise EndpointError(f"'{host}' is neither an IP address nor a valid host name")
    if port is None:
        if default_port is None:
            raise EndpointError(f"'{text}' has no port and the peer has no listen port to default to")
        port = default_port
    port_number = _port(port, text)
    if ":" in host:
        return f"[{ipaddress.IPv6Address(host).compressed}]:{port_number}"
    return f"{host}:{port_number}"


def _is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def _is_ipv6(text: str) -> bool:
    try:
        address = ipaddress.IPv6Address(text)
    except ValueError:
        return False
    # A scope (fe80::1%eth0) is an interface name; Python accepts any text there.
    return address.scope_id is None or _SCOPE.fullmatch(address.scope_id) is not None


def _ipv6_literal(host: str, text: str) -> None:
    if not _is_ipv6(host):
        raise EndpointError(f"'{text}': '{host}' is not an IPv6 address")


def _port(value: object, text: str) -> int:
    if not isinstance(value, int) and not re.fullmatch(r"[0-9]{1,5}", str(value)):
        raise EndpointError(f"'{text}': port '{value}' is not a number")
    number = int(str(value), 10)
    if not 1 <= number <= 65535:
        raise EndpointError(f"'{text}': port {number} is outside 1-65535")
    return number


def usable_offsets(network: IPNetwork) -> tuple[int, int]:
    """First and last host offsets that may be handed out (v4 skips network and broadcast)."""
    if network.version == 4 and network.prefixlen <= 30:
        return 1, network.num_addresses - 2
    return 1, network.num_addresses - 1


def offset_of(network: IPNetwork, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> int:
    return int(address) - int(network.network_address)


class Allocator:
    """Hands out host offsets that are free in every network of a (possibly dual-stack) set.

    A host gets the same offset in each network (10.0.0.7 and fd00::7), so dual-stack addresses
    line up. Offsets already taken (explicit or recorded addresses) are never handed out again, and
    new hosts are served in name order from the lowest free offset, so an allocation depends only on
    what was recorded before it: adding or removing hosts never moves anybody else.
    """

    def __init__(self, networks: Sequence[IPNetwork]) -> None:
        self.networks = list(networks)
        self.taken: list[set[int]] = [set() for network in self.networks]
        bounds = [usable_offsets(net) for net in self.networks]
        self._first = max(low for low, high in bounds)
        self._last = min(high for low, high in bounds)
        self._cursor = self._first

    def take(self, interface: IPInterface) -> None:
        for index, network in enumerate(self.networks):
            if interface.version == network.version:
                self.taken[index].add(offset_of(network, interface.ip))

    def allocate(self) -> list[IPInterface] | None:
        while self._cursor <= self._last:
            offset = self._cursor
            self._cursor += 1
            if all(offset not in taken for taken in self.taken):
                for taken in self.taken:
                    taken.add(offset)
                return [
                    ipaddress.ip_interface(f"{net.network_address + offset}/{net.prefixlen}") for net in self.networks
                ]
        return None
