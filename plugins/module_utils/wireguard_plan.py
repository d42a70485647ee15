# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each host's WireGuard interface and peers, computed from the validated network. Pure Python.

Rules (see docs/plan-format.md):
- peers come from the inventory group, never from the hosts in the play;
- AllowedIPs follow WireGuard's cryptokey routing: longest prefix wins and a prefix listed under two
  peers silently moves to the last one, so no prefix is ever listed under two peers of one host, and
  each peer's own tunnel addresses (/32, /128) always resolve to that peer;
- hub_spoke: a spoke's first hub (by name) carries the whole tunnel network and every prefix no
  linked peer owns; hubs carry, for each other hub, the spokes only that hub reaches;
- keepalive goes on the side behind NAT, toward peers that have an endpoint.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from .wireguard_inventory import HostSpec, Network, PlanError, Problem, attribute_unmanaged, load_network

DEFAULT_ROUTES = ("0.0.0.0/0", "::/0")


class PeerPlan(NamedTuple):
    """One [Peer] of a host. A tuple: a 3000-host mesh holds millions of these."""

    name: str
    public_key: str | None
    allowed_ips: tuple[str, ...]
    endpoint: str | None
    persistent_keepalive: int | None
    preshared_key: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "public_key": self.public_key,
            "allowed_ips": list(self.allowed_ips),
            "endpoint": self.endpoint,
            "persistent_keepalive": self.persistent_keepalive,
            "preshared_key": self.preshared_key,
        }


@dataclass
class HostPlan:
    name: str
    interface: str
    addresses: list[str]
    listen_port: int | None
    peers: list[PeerPlan]
    forwarding: bool
    public_key: str | None

    def as_dict(self) -> dict[str, Any]:
        """The documented plan-file shape (docs/plan-format.md), and nothing else."""
        return {
            "interface": self.interface,
            "addresses": list(self.addresses),
            "listen_port": self.listen_port,
            "peers": [peer.as_dict() for peer in self.peers],
        }


class Planner:
    """Plans one host or all of them. Building it costs O(hosts); each host's plan O(its peers)."""

    def __init__(self, network: Network) -> None:
        self.network = network
        self.hosts = network.hosts
        self.names = sorted(self.hosts)
        self.hubs = [name for name in self.names if self.hosts[name].hub] if network.topology == "hub_spoke" else []
        self._hub_set = frozenset(self.hubs)
        self._own: dict[str, tuple[str, ...]] = {
            name: tuple(str(a.ip) + ("/32" if a.version == 4 else "/128") for a in spec.addresses) + spec.routed
            for name, spec in self.hosts.items()
        }
        self._network_prefixes = tuple(str(n) for n in network.networks)
        self._filtered = any(spec.include is not None or spec.exclude for spec in self.hosts.values())
        self._links: dict[str, list[str]] = {}
        self._peer_facts = (
            {n: spec.public_key for n, spec in self.hosts.items()},
            {n: spec.endpoint for n, spec in self.hosts.items()},
            {n: spec.psk and spec.public_key is not None for n, spec in self.hosts.items()},
        )
        self._shared_entries: dict[tuple[int | None, bool], dict[str, PeerPlan]] = {}
        self._routed = tuple((name, subnet) for name in self.names for subnet in self.hosts[name].routed)
        self._elsewhere: dict[frozenset[str], tuple[str, ...]] = {}

    # -- who peers with whom ---------------------------------------------------------------
    def allowed(self, host: str, peer: str) -> bool:
        spec = self.hosts[host]
        return (spec.include is None or peer in spec.include) and peer not in spec.exclude

    def _candidates(self, host: str) -> list[str]:
        if self.network.topology == "hub_spoke" and host not in self._hub_set:
            return [hub for hub in self.hubs if hub != host]
        return [name for name in self.names if name != host]

    def links(self, host: str) -> list[str]:
        """Peers of `host`, sorted; symmetric: b in links(a) iff a in links(b)."""
        cached = self._links.get(host)
        if cached is not None:
            return cached
        peers = self._candidates(host)
        if self._filtered:
            peers = [p for p in peers if self.allowed(host, p) and self.allowed(p, host)]
        if self.hosts[host].endpoint is None:
            peers = [p for p in peers if self.hosts[p].endpoint is not None]
        self._links[host] = peers
        return peers

    def unreachable_pairs(self) -> list[tuple[str, str]]:
        """Pairs that would be linked but where neither side has an endpoint: they can never handshake."""
        pairs = []
        for host in self.names:
            if self.hosts[host].endpoint is not None:
                continue
            peers = self._candidates(host)
            if self._filtered:
                peers = [p for p in peers if self.allowed(host, p) and self.allowed(p, host)]
            pairs.extend((host, p) for p in peers if p > host and self.hosts[p].endpoint is None)
        return pairs

    # -- AllowedIPs --------------------------------------------------------------------------
    def _first_hub(self, spoke: str) -> str | None:
        return next((p for p in self.links(spoke) if p in self._hub_set), None)

    def allowed_ips(self, host: str, peer: str) -> tuple[str, ...]:
        prefixes = self._own[peer]
        if self.network.topology == "hub_spoke":
            if host not in self._hub_set and peer == self._first_hub(host):
                prefixes = prefixes + self._network_prefixes + self._routed_elsewhere(host)
            elif host in self._hub_set and peer in self._hub_set:
                prefixes = prefixes + self._relayed_spokes(host, peer)
        if self.hosts[host].via_exit == peer:
            prefixes = prefixes + DEFAULT_ROUTES
        return prefixes

    def _routed_elsewhere(self, spoke: str) -> tuple[str, ...]:
        """Routed subnets a spoke reaches through its first hub: all but its own and its peers'."""
        owners = frozenset(name for name in (spoke, *self.links(spoke)) if self.hosts[name].routed)
        cached = self._elsewhere.get(owners)
        if cached is None:
            cached = tuple(subnet for name, subnet in self._routed if name not in owners)
            self._elsewhere[owners] = cached
        return cached

    def _relayed_spokes(self, hub: str, other_hub: str) -> tuple[str, ...]:
        """Prefixes of spokes `hub` cannot reach itself, carried by the first other hub that reaches them."""
        mine = set(self.links(hub))
        relayed: list[str] = []
        for spoke in self.names:
            if spoke in self._hub_set or spoke in mine:
                continue
            via = next((h for h in self.links(spoke) if h in self._hub_set and h in mine), None)
            if via == other_hub:
                relayed.extend(self._own[spoke])
        return tuple(relayed)

    # -- plans --------------------------------------------------------------------------------
    def host(self, name: str) -> HostPlan:
        spec = self.hosts[name]
        keepalive = spec.keepalive if spec.behind_nat and spec.keepalive else None
        wants_psk = spec.psk and spec.public_key is not None
        links = self.links(name)
        keys, endpoints, psk_ready = self._peer_facts
        make = tuple.__new__
        if self.network.topology == "hub_spoke" or spec.via_exit:
            allowed = self.allowed_ips
            peers = [
                make(
                    PeerPlan,
                    (
                        peer,
                        keys[peer],
                        allowed(name, peer),
                        endpoints[peer],
                        keepalive if endpoints[peer] is not None else None,
                        wants_psk and psk_ready[peer],
                    ),
                )
                for peer in links
            ]
        else:
            # The hot path of a large mesh (a 1000-host mesh has a million peer entries): a peer's entry
            # only depends on this host's keepalive and preshared-key setting, so hosts alike share them.
            shared = self._shared_entries.setdefault((keepalive, wants_psk), {})
            own = self._own
            peers = []
            for peer in links:
                entry = shared.get(peer)
                if entry is None:
                    entry = shared[peer] = make(
                        PeerPlan,
                        (
                            peer,
                            keys[peer],
                            own[peer],
                            endpoints[peer],
                            keepalive if endpoints[peer] is not None else None,
                            wants_psk and psk_ready[peer],
                        ),
                    )
                peers.append(entry)
        return HostPlan(
            name=name,
            interface=spec.interface,
            addresses=[str(a) for a in spec.addresses],
            listen_port=spec.listen_port,
            peers=peers,
            forwarding=bool(spec.hub and self.network.topology == "hub_spoke") or spec.exit_node or bool(spec.routed),
            public_key=spec.public_key,
        )

    def all(self) -> dict[str, HostPlan]:
        return {name: self.host(name) for name in self.names}


def build(inventory: Mapping[str, Any], state: Mapping[str, Any] | None = None) -> tuple[Planner, list[str]]:
    """Validate, allocate and return a planner plus the warnings a user should see."""
    network = load_network(inventory, state)
    planner = Planner(network)
    problems = _link_problems(planner)
    pairs = planner.unreachable_pairs()
    if pairs and network.unreachable_pairs == "fail":
        problems.extend(_unreachable_problem(a, b) for a, b in pairs)
    if problems:
        raise PlanError(attribute_unmanaged(problems, network.unmanaged))
    warnings = list(network.warnings)
    warnings.extend(f"{_unreachable_problem(a, b)} (pair left out)" for a, b in pairs)
    unknown = [name for name in planner.names if planner.hosts[name].public_key is None]
    if unknown:
        warnings.append(
            f"no public key known yet for {', '.join(unknown)}: peers are configured once those hosts are converged"
        )
    return planner, warnings


def _link_problems(planner: Planner) -> list[Problem]:
    problems = []
    for name in planner.names:
        spec = planner.hosts[name]
        links = planner.links(name)
        if planner.network.topology == "hub_spoke" and not spec.hub and planner.hubs and not links:
            problems.append(_isolated_spoke(planner, name))
        if spec.via_exit and spec.via_exit in planner.hosts and spec.via_exit not in links:
            problems.append(
                Problem(
                    name,
                    "wireguard_via_exit_node",
                    f"'{spec.via_exit}' is not a peer of this host (spokes peer only with hubs, and "
                    "wireguard_peers_include/exclude apply); pick an exit node this host peers with",
                )
            )
    return problems


def _list_variable(spec: HostSpec, peer: str) -> str:
    return (
        "wireguard_peers_include"
        if spec.include is not None and peer not in spec.include
        else "wireguard_peers_exclude"
    )


def _isolated_spoke(planner: Planner, spoke: str) -> Problem:
    """Blame the setting that cut the spoke off from its first hub: its own lists, the hub's, or endpoints."""
    hub = planner.hubs[0]
    spec, hub_spec = planner.hosts[spoke], planner.hosts[hub]
    message = f"leaves spoke {spoke} without any hub to peer with (first hub: {hub}); it could reach nobody"
    if not planner.allowed(spoke, hub):
        return Problem(spoke, _list_variable(spec, hub), message)
    if not planner.allowed(hub, spoke):
        return Problem(hub, _list_variable(hub_spec, spoke), message)
    return Problem(spoke, "wireguard_endpoint", f"{message}: neither it nor {hub} has an endpoint")


def _unreachable_problem(a: str, b: str) -> Problem:
    return Problem(
        a,
        "wireguard_endpoint",
        f"neither {a} nor {b} has an endpoint, so they can never handshake; give one of them wireguard_endpoint, "
        "or keep them apart with wireguard_peers_exclude",
    )


def plan_all(
    inventory: Mapping[str, Any], state: Mapping[str, Any] | None = None
) -> tuple[dict[str, HostPlan], list[str]]:
    planner, warnings = build(inventory, state)
    return planner.all(), warnings


def plan_document(plans: Iterable[HostPlan]) -> dict[str, dict[str, Any]]:
    """The JSON plan file: {HOST: {interface, addresses, listen_port, peers}} (docs/plan-format.md)."""
    return {plan.name: plan.as_dict() for plan in plans}
