# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The DERP map file Headscale's `derp.paths` points to, built from the fleet's own relays. Pure Python.

Headscale reads the file with gopkg.in/yaml.v3 into tailscale's tailcfg.DERPMap (hscontrol/derp/derp.go,
loadDERPMapFromPath). tailcfg has no yaml tags, so yaml.v3 uses each Go field name lowercased
(RegionID -> regionid, HostName -> hostname, STUNPort -> stunport) and silently ignores any other key: a
misspelt key is a lost setting, hence the fixed spelling here. One region per relay, one node per region.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ansible_collections.wgops.fleet.plugins.module_utils._headscale.config import HeadscaleConfigError
from ansible_collections.wgops.fleet.plugins.module_utils._problems import Problem
from ansible_collections.wgops.fleet.plugins.module_utils._values import is_dns_name, real_address_problem

# relay dict field -> the (future) derp role's variable the problems name
VARIABLES = {
    "region_id": "derp_region_id",
    "region_code": "derp_region_code",
    "region_name": "derp_region_name",
    "hostname": "derp_hostname",
    "ipv4": "derp_ipv4",
    "ipv6": "derp_ipv6",
    "stun_port": "derp_stun_port",
    "derp_port": "derp_port",
}
FIELDS = ("inventory_hostname", *VARIABLES)
DEFAULT_STUN_PORT = 3478
DEFAULT_DERP_PORT = 443
REGION_IDS = range(900, 1000)  # reserved by Tailscale for custom regions
# The derp role's defaults of what the map needs (roles/derp/defaults/main.yml; a unit test keeps them equal).
# The region code and name and the host name default to the relay's inventory name.
RELAY_DEFAULTS: dict[str, Any] = {
    "derp_region_id": 900,
    "derp_ipv4": "",
    "derp_ipv6": "",
    "derp_stun_port": DEFAULT_STUN_PORT,
    "derp_port": DEFAULT_DERP_PORT,
}
NAMED_AFTER_HOST = ("derp_region_code", "derp_region_name", "derp_hostname")


def relays_from_inventory(relay_hosts: Sequence[str], hostvars: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The relay dicts of ``derp_map`` for the inventory hosts ``relay_hosts``, from their derp_* variables
    with the derp role's defaults for what they leave unset. Reads only those hosts' variables."""
    relays = []
    for host in relay_hosts:
        values = hostvars.get(host) or {}

        def value(variable: str, values: Mapping[str, Any] = values, host: str = host) -> Any:
            if variable in values:
                return values[variable]
            return host if variable in NAMED_AFTER_HOST else RELAY_DEFAULTS[variable]

        relay = {"inventory_hostname": host}
        relay.update({field: value(variable) for field, variable in VARIABLES.items()})
        relays.append(relay)
    return relays


def _number(value: Any) -> Any:
    """Whole numbers may arrive as strings from a template over other hosts' variables."""
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return value


class _Relay:
    def __init__(self, relay: Mapping[str, Any], fallback_host: str, problems: list[Problem]) -> None:
        self.relay = relay
        self.host = str(relay.get("inventory_hostname") or fallback_host)
        self.problems = problems

    def add(self, field: str, message: str) -> None:
        self.problems.append(Problem(self.host, VARIABLES.get(field, field), message))

    def region_id(self) -> int | None:
        value = _number(self.relay.get("region_id"))
        if isinstance(value, bool) or not isinstance(value, int) or value not in REGION_IDS:
            self.add("region_id", f"expected a region ID from 900 to 999 (the range for custom regions), got {value!r}")
            return None
        return value

    def label(self, field: str, default: str) -> str:
        value = self.relay.get(field)
        if value in (None, ""):
            return default
        if not isinstance(value, str) or not value.strip():
            self.add(field, f"expected a non-empty string, got {value!r}")
        return str(value)

    def hostname(self) -> str:
        value = self.relay.get("hostname")
        if not is_dns_name(value):
            self.add(
                "hostname",
                f"{value!r} is not a DNS name; give the name the relay's TLS certificate is for "
                "(addresses go in derp_ipv4 / derp_ipv6)",
            )
        return str(value)

    def address(self, field: str, family: int, *, required: bool) -> str:
        value = self.relay.get(field) or ""
        if not value:
            if required:
                self.add(field, "is empty; clients are sent this address: give the relay's public IPv4 address")
            return ""
        problem = real_address_problem(value, family)
        if problem:
            self.add(
                field, f"{problem}; give the relay's public IPv{family} address" + ("" if required else " or none")
            )
        return str(value)

    def port(self, field: str, default: int, *, allow_disabled: bool = False) -> int:
        value = self.relay.get(field)
        if value is None:
            return default
        value = _number(value)
        valid = isinstance(value, int) and not isinstance(value, bool)
        if valid and (1 <= value <= 65535 or (allow_disabled and value == -1)):
            return value
        extra = ", or -1 for no STUN" if allow_disabled else ""
        self.add(field, f"expected a port from 1 to 65535{extra}, got {value!r}")
        return default


def derp_map(relays: Sequence[Mapping[str, Any]], host_for_errors: str) -> dict[str, Any]:
    """{"regions": {ID: region}} for the relays, sorted by region ID; HeadscaleConfigError (a PlanError)
    lists every problem. `host_for_errors` names the Headscale host in the error and stands in for a relay
    without inventory_hostname."""
    problems: list[Problem] = []
    if isinstance(relays, (str, bytes)) or not isinstance(relays, Sequence):
        problems.append(Problem(host_for_errors, "relays", f"expected a list of relays, got {relays!r}"))
        raise HeadscaleConfigError(problems, f"the DERP map of host {host_for_errors}")
    regions: dict[int, dict[str, Any]] = {}
    owners: dict[int, str] = {}
    addresses: dict[str, str] = {}
    for relay in relays:
        if not isinstance(relay, Mapping):
            problems.append(Problem(host_for_errors, "relays", f"expected a relay mapping, got {relay!r}"))
            continue
        checker = _Relay(relay, host_for_errors, problems)
        for field in sorted(set(relay) - set(FIELDS)):
            checker.add(field, f"unknown relay field; the fields are {', '.join(FIELDS)}")
        region = _region(checker)
        if region is None:
            continue
        region_id = region["regionid"]
        if region_id in owners:
            checker.add("region_id", f"{region_id} is also host {owners[region_id]}'s region; give each relay its own")
            continue
        for family in ("ipv4", "ipv6"):
            address = region["nodes"][0].get(family)
            if address and address in addresses:
                checker.add(family, f"{address} is also host {addresses[address]}'s address")
            elif address:
                addresses[address] = checker.host
        owners[region_id] = checker.host
        regions[region_id] = region
    if problems:
        raise HeadscaleConfigError(problems, f"the DERP map of host {host_for_errors}")
    return {"regions": {region_id: regions[region_id] for region_id in sorted(regions)}}


def _region(relay: _Relay) -> dict[str, Any] | None:
    region_id = relay.region_id()
    code = relay.label("region_code", f"derp{region_id}")
    node: dict[str, Any] = {
        "name": f"{region_id}a",
        "regionid": region_id,
        "hostname": relay.hostname(),
        "ipv4": relay.address("ipv4", 4, required=True),
    }
    ipv6 = relay.address("ipv6", 6, required=False)
    if ipv6:
        node["ipv6"] = ipv6
    node.update(
        stunport=relay.port("stun_port", DEFAULT_STUN_PORT, allow_disabled=True),
        stunonly=False,
        derpport=relay.port("derp_port", DEFAULT_DERP_PORT),
    )
    if region_id is None:
        return None
    return {
        "regionid": region_id,
        "regioncode": code,
        "regionname": relay.label("region_name", relay.host),
        "nodes": [node],
    }
