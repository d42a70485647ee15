# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each host's WireGuard interface and peers, computed from the validated network. Pure Python.

Rules (see docs/plan-format.md):
- peers come from the inventory group, never from the hosts in the play;
- AllowedIPs follow WireGuard's cryptokey routing: longest prefix wins and a prefix listed under two
  peers silently moves to the last one, so no prefix is ever listed under two peers of one host, and
  each peer's own tunnel addresses (/32, /128) always resolve to that peer;
- hub_spoke: a spoke's primary hub (its first by name) carries the whole tunnel network and every
  prefix no linked peer owns. Several hubs: two spokes that share hubs talk through the first shared
  one, so a spoke lists another spoke under that hub when it is not its primary; other pairs go
  spoke - primary hub - primary hub - spoke, so a hub lists, under each other hub, the spokes it does
  not peer with whose primary that hub is. Every path is the same both ways, which is what lets each
  receiver's cryptokey routing accept the sender; pairs it cannot serve (hubs that do not peer) are
  named by `unrouted()`;
- keepalive goes on the side behind NAT, toward peers that have an endpoint.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from ansible_collections.wgops.fleet.plugins.module_utils._problems import PlanError, Problem
from ansible_collections.wgops.fleet.plugins.module_utils._wireguard.inventory import (
    DEFAULT_UNDERLAY,
    HostSpec,
    Network,
    attribute_unmanaged,
    load_network,
)

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
        # Underlay networks (wireguard_endpoints): when any host names them, each pair picks its own network
        # and so its endpoints; otherwise every host is on the one default network (the fast path below).
        self._underlays = (
            {n: spec.underlays() for n, spec in self.hosts.items()}
            if any(spec.endpoints for spec in self.hosts.values())
            else None
        )
        self._pair_networks: dict[tuple[str, str], str | None] = {}
        self._shared_entries: dict[tuple[int | None, bool, str | None], dict[str, PeerPlan]] = {}
        self._routed = tuple((name, subnet) for name in self.names for subnet in self.hosts[name].routed)
        self._elsewhere: dict[frozenset[str], tuple[str, ...]] = {}
        self._groups: dict[frozenset[str], list[str]] | None = None
        self._spoke_extras: dict[frozenset[str], tuple[dict[str, tuple[str, ...]], frozenset[str]]] = {}
        self._hub_extras: dict[tuple[str, str], tuple[str, ...]] = {}

    # -- which underlay network a pair uses ---------------------------------------------------
    def pair_network(self, a: str, b: str) -> str | None:
        """The underlay network hosts a and b use, the same for (a, b) and (b, a): of the networks both are
        on where at least one has an endpoint, the one with the highest sum of the two priorities (ties: the
        name that sorts first). None when there is none: they can never handshake."""
        if self._underlays is None:
            return (
                DEFAULT_UNDERLAY if self.hosts[a].endpoint is not None or self.hosts[b].endpoint is not None else None
            )
        key = (a, b) if a < b else (b, a)
        if key in self._pair_networks:
            return self._pair_networks[key]
        ua, ub = self._underlays[a], self._underlays[b]
        best: tuple[int, str] | None = None
        for network in ua.keys() & ub.keys():
            (ea, pa), (eb, pb) = ua[network], ub[network]
            if ea is None and eb is None:
                continue
            candidate = (-(pa + pb), network)
            if best is None or candidate < best:
                best = candidate
        chosen = best[1] if best is not None else None
        self._pair_networks[key] = chosen
        return chosen

    def endpoint(self, host: str, peer: str) -> str | None:
        """Where `host` dials `peer`: the peer's endpoint on the network the pair uses (None: the peer has no
        endpoint there, so `host` waits for the peer's handshake)."""
        if self._underlays is None:
            return self.hosts[peer].endpoint
        network = self.pair_network(host, peer)
        return None if network is None else self._underlays[peer][network][0]

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
        if self._underlays is not None:
            peers = [p for p in peers if self.pair_network(host, p) is not None]
        elif self.hosts[host].endpoint is None:
            peers = [p for p in peers if self.hosts[p].endpoint is not None]
        self._links[host] = peers
        return peers

    def unreachable_pairs(self) -> list[tuple[str, str]]:
        """Pairs that would be linked but where neither side has an endpoint: they can never handshake."""
        pairs: list[tuple[str, str]] = []
        for host in self.names:
            if self._underlays is None and self.hosts[host].endpoint is not None:
                continue
            peers = self._candidates(host)
            if self._filtered:
                peers = [p for p in peers if self.allowed(host, p) and self.allowed(p, host)]
            pairs.extend((host, p) for p in peers if p > host and self.pair_network(host, p) is None)
        return pairs

    # -- AllowedIPs --------------------------------------------------------------------------
    def _first_hub(self, spoke: str) -> str | None:
        return next((p for p in self.links(spoke) if p in self._hub_set), None)

    def allowed_ips(self, host: str, peer: str) -> tuple[str, ...]:
        return self._own[peer] + self._additions(host).get(peer, ())

    def _additions(self, host: str) -> dict[str, tuple[str, ...]]:
        """{peer: prefixes routed to it beyond its own}, computed once per host plan."""
        additions: dict[str, tuple[str, ...]] = {}
        if self.network.topology == "hub_spoke":
            links = self.links(host)
            if host not in self._hub_set:
                primary = self._first_hub(host)
                moved: frozenset[str] = frozenset()
                if len(self.hubs) > 1 and len(links) > 1:
                    extras, moved = self._shared_hub_extras(host)
                    additions.update(extras)
                if primary is not None:
                    additions[primary] = self._network_prefixes + self._routed_elsewhere(host, moved)
            elif len(self.hubs) > 1:
                for peer in links:
                    if peer in self._hub_set:
                        additions[peer] = self._relayed_spokes(host, peer)
        via = self.hosts[host].via_exit
        if via is not None:
            additions[via] = additions.get(via, ()) + DEFAULT_ROUTES
        return additions

    def _routed_elsewhere(self, spoke: str, moved: frozenset[str]) -> tuple[str, ...]:
        """Routed subnets a spoke reaches through its primary hub: all but its own, its peers' and those of
        the spokes it reaches through another shared hub (`moved`)."""
        owners = frozenset(name for name in (spoke, *self.links(spoke), *moved) if self.hosts[name].routed)
        cached = self._elsewhere.get(owners)
        if cached is None:
            cached = tuple(subnet for name, subnet in self._routed if name not in owners)
            self._elsewhere[owners] = cached
        return cached

    def spoke_groups(self) -> dict[frozenset[str], list[str]]:
        """Spokes (clients included) by the set of hubs they peer with, each list sorted; spokes with no hub
        (refused by build()) are left out. Several hubs need only this, never all pairs of spokes."""
        if self._groups is None:
            groups: dict[frozenset[str], list[str]] = {}
            for name in self.names:
                if name not in self._hub_set and self.network.topology == "hub_spoke":
                    hubs = frozenset(self.links(name))
                    if hubs:
                        groups.setdefault(hubs, []).append(name)
            self._groups = groups
        return self._groups

    def _shared_hub_extras(self, spoke: str) -> tuple[dict[str, tuple[str, ...]], frozenset[str]]:
        """({hub: prefixes}, spokes moved) for the spokes this one reaches through a shared hub other than
        its primary: the first hub the two have in common, so both sides agree on the path."""
        hubs = frozenset(self.links(spoke))
        cached = self._spoke_extras.get(hubs)
        if cached is None:
            primary = min(hubs) if hubs else None
            moved: dict[str, list[str]] = {}
            for other, members in self.spoke_groups().items():
                shared = hubs & other
                if shared and min(shared) != primary:
                    moved.setdefault(min(shared), []).extend(members)
            extras = {
                hub: tuple(prefix for member in sorted(members) for prefix in self._own[member])
                for hub, members in moved.items()
            }
            cached = (extras, frozenset(m for members in moved.values() for m in members))
            self._spoke_extras[hubs] = cached
        return cached

    def _relayed_spokes(self, hub: str, other_hub: str) -> tuple[str, ...]:
        """Prefixes of the spokes `hub` does not peer with whose primary hub is `other_hub`: the path those
        spokes' own traffic to `hub` takes, so the only one `hub` may route them on."""
        cached = self._hub_extras.get((hub, other_hub))
        if cached is None:
            relayed = [
                member
                for hubs, members in self.spoke_groups().items()
                if hub not in hubs and min(hubs) == other_hub
                for member in members
            ]
            cached = tuple(prefix for member in sorted(relayed) for prefix in self._own[member])
            self._hub_extras[(hub, other_hub)] = cached
        return cached

    def unrouted(self) -> dict[tuple[str, str], list[tuple[list[str], list[str]]]]:
        """Pairs hub_spoke cannot route, by the pair of hubs that do not peer with each other and would have
        to: {(hub, hub): [(hosts, hosts), ...]}, each block meaning every host of one list with every host
        of the other. Empty when every two hubs peer (then every pair is delivered both ways)."""
        hubs = self.hubs
        if self.network.topology != "hub_spoke" or len(hubs) < 2:
            return {}
        # links() are sorted: a binary search per pair of hubs, not a set of every hub's peers
        linked = {hub: frozenset(p for p in hubs if p != hub and _contains(self.links(hub), p)) for hub in hubs}
        apart = {(a, b) for a in hubs for b in hubs if a < b and b not in linked[a]}
        if not apart:
            return {}
        result: dict[tuple[str, str], list[tuple[list[str], list[str]]]] = {}

        def add(one: str, two: str, left: list[str], right: list[str]) -> None:
            result.setdefault((min(one, two), max(one, two)), []).append((left, right))

        for a, b in sorted(apart):
            add(a, b, [a], [b])
        groups = sorted(self.spoke_groups().items(), key=lambda item: item[1][0])
        for hub in hubs:
            for members_hubs, members in groups:
                primary = min(members_hubs)
                if hub not in members_hubs and primary not in linked[hub]:
                    add(hub, primary, [hub], members)
        for index, (left_hubs, left) in enumerate(groups):
            for right_hubs, right in groups[index + 1 :]:
                one, two = min(left_hubs), min(right_hubs)
                if not left_hubs & right_hubs and two not in linked[one]:
                    add(one, two, left, right)
        return result

    def unrouted_pairs(self) -> list[tuple[str, str]]:
        """Every pair unrouted() names, expanded (a, b) with a < b; for tests and small fleets."""
        return sorted(
            (min(x, y), max(x, y))
            for blocks in self.unrouted().values()
            for left, right in blocks
            for x in left
            for y in right
        )

    # -- plans --------------------------------------------------------------------------------
    def host(self, name: str) -> HostPlan:
        spec = self.hosts[name]
        keepalive = spec.keepalive if spec.behind_nat and spec.keepalive else None
        wants_psk = spec.psk and spec.public_key is not None
        links = self.links(name)
        keys, endpoints, psk_ready = self._peer_facts
        make = tuple.__new__
        if self.network.topology == "hub_spoke" or spec.via_exit:
            if self._underlays is not None:
                endpoints = {peer: self.endpoint(name, peer) for peer in links}
            own = self._own
            additions = self._additions(name)
            peers = [
                make(
                    PeerPlan,
                    (
                        peer,
                        keys[peer],
                        own[peer] + additions[peer] if peer in additions else own[peer],
                        endpoints[peer],
                        keepalive if endpoints[peer] is not None else None,
                        wants_psk and psk_ready[peer],
                    ),
                )
                for peer in links
            ]
        else:
            # The hot path of a large mesh (a 1000-host mesh has a million peer entries): a peer's entry
            # only depends on this host's keepalive and preshared-key setting and, with underlay networks,
            # on the network the pair uses, so hosts alike share them.
            own = self._own
            underlays = self._underlays
            peers = []
            for peer in links:
                network = self.pair_network(name, peer) if underlays is not None else None
                shared = self._shared_entries.setdefault((keepalive, wants_psk, network), {})
                entry = shared.get(peer)
                if entry is None:
                    endpoint = underlays[peer][network][0] if underlays is not None and network else endpoints[peer]
                    entry = shared[peer] = make(
                        PeerPlan,
                        (
                            peer,
                            keys[peer],
                            own[peer],
                            endpoint,
                            keepalive if endpoint is not None else None,
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


def _contains(names: list[str], name: str) -> bool:
    index = bisect_left(names, name)
    return index < len(names) and names[index] == name


def build(inventory: Mapping[str, Any], state: Mapping[str, Any] | None = None) -> tuple[Planner, list[str]]:
    """Validate, allocate and return a planner plus the warnings a user should see."""
    network = load_network(inventory, state)
    planner = Planner(network)
    problems = _link_problems(planner)
    pairs = planner.unreachable_pairs()
    unrouted = planner.unrouted()
    if network.unreachable_pairs == "fail":
        problems.extend(_unreachable_problem(planner, a, b) for a, b in pairs)
        problems.extend(_unrouted_problem(planner, hubs, blocks) for hubs, blocks in sorted(unrouted.items()))
    if problems:
        raise PlanError(attribute_unmanaged(problems, network.unmanaged))
    warnings = list(network.warnings)
    warnings.extend(f"{_unreachable_problem(planner, a, b)} (pair left out)" for a, b in pairs)
    warnings.extend(str(_unrouted_problem(planner, hubs, blocks)) for hubs, blocks in sorted(unrouted.items()))
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
        if spec.unmanaged and not links:
            problems.append(_lonely_client(planner, name))
        elif planner.network.topology == "hub_spoke" and not spec.hub and planner.hubs and not links:
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


def _lonely_client(planner: Planner, client: str) -> Problem:
    """An unmanaged peer that would get no peer at all; named as its connect_to (attribute_unmanaged)."""
    targets = sorted(t for t in planner.hosts[client].include or () if t in planner.hosts)
    listed = ", ".join(targets) or "no present host"
    if planner.network.topology == "hub_spoke" and not set(targets) & set(planner.hubs):
        why = f"names no hub ({listed}); in hub_spoke a client peers only with hubs: name a hub"
    elif not targets:
        why = "names no present host: name the host(s) or group(s) it connects to"
    elif all(planner.pair_network(client, t) is None for t in targets) and any(
        planner.hosts[t].endpoints for t in targets
    ):
        why = (
            f"names only hosts without an endpoint on the network clients are on ({listed}; clients are on "
            f"network {DEFAULT_UNDERLAY}), so it could never handshake: give one of them a {DEFAULT_UNDERLAY} entry "
            "with an endpoint in wireguard_endpoints"
        )
    elif all(planner.pair_network(client, t) is None for t in targets):
        why = (
            f"names only hosts without wireguard_endpoint ({listed}), and a client has none either, so it "
            "could never handshake: connect it to a host that has an endpoint, or give one of them wireguard_endpoint"
        )
    else:
        why = f"names {listed}, whose wireguard_peers_include/exclude leave this client out: allow it there"
    return Problem(client, "wireguard_peers_include", f"gets no peer: {why}")


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
    if spec.endpoints or hub_spec.endpoints:
        return Problem(
            spoke,
            "wireguard_endpoints",
            f"{message}: it and {hub} share no underlay network on which one of them has an endpoint",
        )
    return Problem(spoke, "wireguard_endpoint", f"{message}: neither it nor {hub} has an endpoint")


def _unreachable_problem(planner: Planner, a: str, b: str) -> Problem:
    if planner.hosts[a].endpoints or planner.hosts[b].endpoints:
        # Per-pair endpoints: the pair shares no underlay network on which one of them can be reached.
        def where(name: str) -> str:
            underlays = planner.hosts[name].underlays()
            shown = [
                f"{n} ({'endpoint' if e is not None else 'no endpoint'})" for n, (e, _p) in sorted(underlays.items())
            ]
            return f"{name} is on {', '.join(shown)}"

        owner = a if planner.hosts[a].endpoints else b
        return Problem(
            owner,
            "wireguard_endpoints",
            f"{a} and {b} share no underlay network on which one of them has an endpoint ({where(a)}; {where(b)}), "
            "so they can never handshake; put them on a common network with an endpoint, or keep them apart "
            "with wireguard_peers_exclude",
        )
    client = next((n for n in (a, b) if planner.hosts[n].unmanaged), None)
    if client is not None:
        host = b if client == a else a
        return Problem(
            host,
            "wireguard_endpoint",
            f"client {client} connects to this host but neither has an endpoint (a client never has one), so they "
            f"can never handshake; give {host} wireguard_endpoint, or drop it from the client's connect_to",
        )
    return Problem(
        a,
        "wireguard_endpoint",
        f"neither {a} nor {b} has an endpoint, so they can never handshake; give one of them wireguard_endpoint, "
        "or keep them apart with wireguard_peers_exclude",
    )


_EXAMPLES = 4  # pairs named in one unrouted message; the rest are counted (a big fleet gets one line per hub pair)


def _unrouted_problem(planner: Planner, hubs: tuple[str, str], blocks: list[tuple[list[str], list[str]]]) -> Problem:
    """One message per pair of hubs that do not peer: the pairs that would have to pass between them."""
    a, b = hubs
    count = sum(len(left) * len(right) for left, right in blocks)
    examples: list[str] = []
    for left, right in blocks:
        for x in left:
            for y in right[: _EXAMPLES - len(examples)]:
                examples.append(f"{min(x, y)}-{max(x, y)}")
            if len(examples) >= _EXAMPLES:
                break
        if len(examples) >= _EXAMPLES:
            break
    more = f" and {count - len(examples)} more" if count > len(examples) else ""
    message = (
        f"hubs {a} and {b} do not peer with each other, so {count} pair(s) of hosts whose paths must pass between "
        f"them cannot reach each other ({', '.join(examples)}{more}); let the two hubs peer, or give those "
        "spokes a hub in common"
    )
    if not planner.allowed(a, b):
        return Problem(a, _list_variable(planner.hosts[a], b), message)
    if not planner.allowed(b, a):
        return Problem(b, _list_variable(planner.hosts[b], a), message)
    if planner.hosts[a].endpoints or planner.hosts[b].endpoints:
        return Problem(
            a, "wireguard_endpoints", f"{message}: the two hubs share no underlay network on which one has an endpoint"
        )
    return Problem(a, "wireguard_endpoint", f"{message}: neither hub has an endpoint, give one of them one")


def plan_all(
    inventory: Mapping[str, Any], state: Mapping[str, Any] | None = None
) -> tuple[dict[str, HostPlan], list[str]]:
    planner, warnings = build(inventory, state)
    return planner.all(), warnings


def plan_document(plans: Iterable[HostPlan]) -> dict[str, dict[str, Any]]:
    """The JSON plan file: {HOST: {interface, addresses, listen_port, peers}} (docs/plan-format.md)."""
    return {plan.name: plan.as_dict() for plan in plans}
