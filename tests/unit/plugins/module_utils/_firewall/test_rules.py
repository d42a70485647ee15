"""The firewall rule computation (plugins/module_utils/_firewall/rules.py): what a host opens, forwards and
masquerades, from the WireGuard planner's input, the inventory groups and the role's settings."""

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.wgops.fleet.plugins.module_utils._firewall import rules as fr
from ansible_collections.wgops.fleet.plugins.module_utils._problems import PlanError

NET = "10.99.0.0/24"
NET6 = "fd99::/64"


def wg(hosts, groups=None):
    for values in hosts.values():
        values.setdefault("wireguard_network", NET)
    return {"hosts": hosts, "groups": groups or {"wireguard": list(hosts)}}


def rules(host, tunnels=(), groups=None, **settings):
    return fr.ruleset(host, groups or {}, list(tunnels), settings)


def ports(ruleset):
    return [(e["port"], e["proto"]) for e in ruleset["accept"]]


# -- tunnels from the planner -------------------------------------------------------------------


def test_tunnels_of_an_empty_or_missing_network():
    assert fr.tunnels(None) == {}
    assert fr.tunnels({"hosts": {}, "groups": {}}) == {}


def test_listen_ports_and_roles_come_from_the_planner():
    tunnels = fr.tunnels(
        wg(
            {
                "hub": {"wireguard_topology": "hub_spoke", "wireguard_hub": True, "wireguard_endpoint": "h.example"},
                "spoke": {"wireguard_topology": "hub_spoke", "wireguard_behind_nat": True},
                "router": {
                    "wireguard_topology": "hub_spoke",
                    "wireguard_endpoint": "r.example",
                    "wireguard_port": 51999,
                    "wireguard_routed_subnets": ["192.168.10.0/24"],
                },
            }
        )
    )
    assert tunnels["hub"]["listen_port"] == 51820 and tunnels["hub"]["hub"] and tunnels["hub"]["forwarding"]
    # a roaming host behind NAT has no fixed port: nothing to open
    assert tunnels["spoke"]["listen_port"] is None and not tunnels["spoke"]["forwarding"]
    assert tunnels["router"]["listen_port"] == 51999 and tunnels["router"]["forwarding"]
    assert tunnels["router"]["routed"] == ["192.168.10.0/24"]
    assert tunnels["hub"]["other_routed"] == ["192.168.10.0/24"] and tunnels["router"]["other_routed"] == []


def test_a_mesh_member_marked_hub_is_rejected_by_the_planner():
    with pytest.raises(PlanError):
        fr.tunnels(wg({"a": {"wireguard_hub": True}, "b": {}}))


def test_exit_node_knows_its_clients_subnets():
    tunnels = fr.tunnels(
        wg(
            {
                "exit": {"wireguard_endpoint": "e.example", "wireguard_exit_node": True},
                "client": {"wireguard_via_exit_node": "exit", "wireguard_routed_subnets": ["192.168.5.0/24"]},
                "other": {"wireguard_endpoint": "o.example"},
            }
        )
    )
    assert tunnels["exit"]["exit_node"] and tunnels["exit"]["forwarding"]
    assert tunnels["exit"]["exit_client_subnets"] == ["192.168.5.0/24"]
    assert not tunnels["other"]["forwarding"]


# -- what is opened ---------------------------------------------------------------------------------


def test_management_ssh_is_always_first():
    tunnels = fr.tunnels(wg({"a": {"wireguard_endpoint": "a.example"}, "b": {"wireguard_endpoint": "b.example"}}))
    result = rules(
        "a", [tunnels], {"headscale": ["a"]}, ssh_port=2222, allowed_ports=["8080/tcp"], group_ports=fr.GROUP_PORTS
    )
    assert ports(result)[0] == ("2222", "tcp") and result["accept"][0]["comment"] == "management ssh"
    assert ports(result) == [
        ("2222", "tcp"),
        ("51820", "udp"),
        ("443", "tcp"),
        ("80", "tcp"),
        ("3478", "udp"),
        ("8080", "tcp"),
    ]


def test_ssh_sources_guard_the_management_port_on_every_interface():
    tunnels = fr.tunnels(wg({"a": {"wireguard_endpoint": "a.example"}, "b": {"wireguard_endpoint": "b.example"}}))
    # no sources: SSH is open to everyone, nothing to guard
    assert rules("a", [tunnels])["ssh_guard"] is None
    guarded = rules("a", [tunnels], ssh_port=2222, ssh_sources=["192.0.2.0/24", "2001:db8::/32"])
    guard = guarded["ssh_guard"]
    assert guard == guarded["accept"][0]
    assert (guard["port"], guard["sources4"], guard["sources6"]) == ("2222", ["192.0.2.0/24"], ["2001:db8::/32"])


def test_a_second_way_into_the_restricted_ssh_port_is_refused_naming_its_variable():
    """With firewall_ssh_sources, no other entry may open the SSH port: the backends refuse it to every other
    source first, so such an entry would be dead, and the lock-out check would count on it."""
    with pytest.raises(fr.FirewallError) as refused:
        rules(
            "h",
            groups={"headscale": ["h"]},
            ssh_port=443,
            ssh_sources=["192.0.2.0/24"],
            group_ports=fr.GROUP_PORTS,
            allowed_ports=[{"port": 443, "sources": ["198.51.100.7"]}, "400-500/tcp", "8080/tcp"],
            tunnel_policy="restricted",
            tunnel_allowed=["ssh", "dns"],
        )
    text = str(refused.value)
    assert "host h: firewall_group_ports[headscale]: 443/tcp opens the management SSH port 443" in text
    assert "host h: firewall_allowed_ports: 443/tcp opens the management SSH port 443" in text
    assert "host h: firewall_allowed_ports: 400-500/tcp opens" in text
    assert "host h: firewall_tunnel_allowed: 443/tcp opens" in text
    assert "8080" not in text and "53/" not in text
    # without firewall_ssh_sources the same entries are fine (SSH is open to everyone anyway)
    rules("h", ssh_port=443, allowed_ports=["400-500/tcp"], tunnel_policy="restricted", tunnel_allowed=["ssh"])


def test_default_group_ports_and_missing_groups():
    result = rules("h", groups={"derp": ["h"], "tailnet": ["h"]})
    assert ports(result) == [("22", "tcp"), ("443", "tcp"), ("80", "tcp"), ("3478", "udp"), ("41641", "udp")]
    # the same port from two groups is opened once, named after both
    both = rules("h", groups={"headscale": ["h"], "derp": ["h"]})
    https = [e for e in both["accept"] if e["port"] == "443"]
    assert len(https) == 1 and https[0]["comment"] == "headscale, derp"
    # groups the inventory lacks are empty; a host in no group gets SSH only
    assert ports(rules("h")) == [("22", "tcp")]


def test_port_forms():
    problems = []
    entries = fr.parse_ports(
        problems,
        "where",
        ["53/udp", "60000-61000/UDP", "dns", "ssh", {"port": 8443, "sources": ["10.0.0.0/8", "fd00::/8"]}],
        ssh_port=2200,
        comment="default",
    )
    assert problems == []
    assert [(e["port"], e["proto"], e["comment"]) for e in entries] == [
        ("53", "udp", "default"),
        ("60000-61000", "udp", "default"),
        ("53", "udp", "dns"),
        ("53", "tcp", "dns"),
        ("2200", "tcp", "ssh"),
        ("8443", "tcp", "default"),
    ]
    assert entries[-1]["sources4"] == ["10.0.0.0/8"] and entries[-1]["sources6"] == ["fd00::/8"]


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("53", "is not PORT/PROTO"),
        ("0/tcp", "is not a port"),
        ("70000/udp", "is not a port"),
        ("900-800/tcp", "rising range"),
        ("80/icmp", "protocol icmp"),
        ({"proto": "tcp"}, "has no port"),
        ({"port": 1, "to": 2}, "unknown key(s) to"),
        ({"port": 1, "sources": ["nope"]}, "source 'nope'"),
    ],
)
def test_bad_ports_name_host_and_variable(value, fragment):
    with pytest.raises(fr.FirewallError) as info:
        rules("web1", allowed_ports=[value])
    assert "host web1: firewall_allowed_ports" in str(info.value) and fragment in str(info.value)


def test_every_problem_at_once():
    with pytest.raises(fr.FirewallError) as info:
        rules("h", backend="pf", ssh_port="x", tunnel_policy="open", allowed_ports=["1/tcp", "2"])
    assert len(info.value.problems) == 4
    assert all(p.startswith("host h: firewall_") for p in info.value.problems)


def test_tunnel_allowed_needs_restricted_policy():
    with pytest.raises(fr.FirewallError, match="firewall_tunnel_policy: restricted"):
        rules("h", tunnel_allowed=["dns"])


# -- tunnels and forwarding ------------------------------------------------------------------------------


def site_to_site():
    return fr.tunnels(
        wg(
            {
                "gwa": {"wireguard_endpoint": "a.example", "wireguard_routed_subnets": ["192.168.1.0/24"]},
                "gwb": {"wireguard_endpoint": "b.example", "wireguard_routed_subnets": ["192.168.2.0/24", "fd02::/64"]},
                "laptop": {"wireguard_behind_nat": True},
            }
        )
    )


def test_tunnel_policy_applies_to_every_tunnel_interface():
    result = rules(
        "gwa", [site_to_site()], tunnel_policy="restricted", tunnel_allowed=["dns"], tunnel_interfaces=["tailscale0"]
    )
    assert [t["interface"] for t in result["tunnels"]] == ["wg0", "tailscale0"]
    assert all(t["policy"] == "restricted" for t in result["tunnels"])
    assert [(e["port"], e["proto"]) for e in result["tunnels"][0]["allowed"]] == [("53", "udp"), ("53", "tcp")]


def test_subnet_router_forwards_its_lan_without_nat_by_default():
    result = rules("gwb", [site_to_site()])
    assert result["forwarding"] == {"enabled": True, "ipv4": True, "ipv6": False}
    assert result["forward"]["routed"] == [
        {"interface": "wg0", "subnets": {"v4": ["192.168.2.0/24"], "v6": ["fd02::/64"]}}
    ]
    assert result["forward"]["tunnel_to_any"] == [] and result["masquerade"] == []


def test_subnet_router_masquerade_is_for_tunnel_sources_into_its_lan():
    result = rules("gwb", [site_to_site()], masquerade_routed=True)
    (masq,) = result["masquerade"]
    assert masq["sources"]["v4"] == [NET, "192.168.1.0/24"]
    assert masq["destinations"] == {"v4": ["192.168.2.0/24"], "v6": ["fd02::/64"]}
    assert masq["out_interfaces"] == []  # scoped by destination: the routed LANs


def test_plain_peer_does_not_forward_unless_told():
    assert rules("laptop", [site_to_site()])["forwarding"]["enabled"] is False
    forced = rules("laptop", [site_to_site()], forwarding=True)
    assert forced["forwarding"]["enabled"] and forced["forward"] == {
        "tunnel_to_tunnel": [],
        "tunnel_to_any": [],
        "routed": [],
    }
    assert rules("gwa", [site_to_site()], forwarding=False)["forward"]["routed"] == []


def test_exit_node_forwards_and_masquerades_its_clients():
    tunnels = fr.tunnels(
        wg(
            {
                "exit": {
                    "wireguard_network": [NET, NET6],
                    "wireguard_endpoint": "e.example",
                    "wireguard_exit_node": True,
                },
                "client": {"wireguard_network": [NET, NET6], "wireguard_via_exit_node": "exit"},
            }
        )
    )
    result = rules("exit", [tunnels], uplink_interfaces=["eth0", "ppp0"])
    assert result["forward"]["tunnel_to_any"] == ["wg0"]
    assert result["forwarding"]["ipv6"] is True
    assert result["masquerade"][0]["sources"] == {"v4": [NET], "v6": [NET6]}
    assert result["masquerade"][0]["destinations"] == {"v4": [], "v6": []}
    # only where the clients leave through the uplink, not into every other network of the host
    assert result["masquerade"][0]["out_interfaces"] == ["eth0", "ppp0"]
    assert rules("exit", [tunnels], masquerade_exit_node=False)["masquerade"] == []
    # without an uplink there is nowhere to scope the masquerade to: refused, naming the variable
    with pytest.raises(fr.FirewallError, match=r"host exit: firewall_uplink_interfaces: .* no uplink is known"):
        rules("exit", [tunnels])
    assert rules("exit", [tunnels], masquerade_exit_node=False, uplink_interfaces=[])["masquerade"] == []
    with pytest.raises(fr.FirewallError, match=r"firewall_uplink_interfaces: 'eth0' is not a list"):
        rules("exit", [tunnels], uplink_interfaces="eth0")
    with pytest.raises(fr.FirewallError, match=r"firewall_uplink_interfaces: 'eth\+' is not an interface name"):
        rules("exit", [tunnels], uplink_interfaces=["eth+"])


def test_hub_forwards_between_spokes():
    tunnels = fr.tunnels(
        wg(
            {
                "hub": {"wireguard_topology": "hub_spoke", "wireguard_hub": True, "wireguard_endpoint": "h.example"},
                "s1": {"wireguard_topology": "hub_spoke", "wireguard_behind_nat": True},
            }
        )
    )
    assert rules("hub", [tunnels])["forward"]["tunnel_to_tunnel"] == ["wg0"]
    assert rules("s1", [tunnels])["forwarding"]["enabled"] is False


def test_two_wireguard_networks():
    one = fr.tunnels(wg({"h": {"wireguard_endpoint": "h.example"}, "x": {}}))
    two = fr.tunnels(
        wg(
            {
                "h": {"wireguard_network": "10.98.0.0/24", "wireguard_interface": "wg1", "wireguard_port": 51821},
                "y": {"wireguard_network": "10.98.0.0/24"},
            }
        )
    )
    result = rules("h", [one, two])
    assert ports(result)[1:] == [("51820", "udp"), ("51821", "udp")]
    assert [t["interface"] for t in result["tunnels"]] == ["wg0", "wg1"]


# -- the management connection -----------------------------------------------------------------------------


def test_management_check():
    open_ssh = rules("h")
    assert fr.management_check(open_ssh, 22, "192.0.2.7") == []
    assert fr.management_check(open_ssh, "22", None) == []
    assert "do not accept" in fr.management_check(open_ssh, 2222, "192.0.2.7")[0]

    restricted = rules("h", ssh_sources=["10.0.0.0/8"])
    assert fr.management_check(restricted, 22, "10.1.2.3") == []
    assert fr.management_check(restricted, 22, "::ffff:10.1.2.3") == []
    assert "firewall_ssh_sources" in fr.management_check(restricted, 22, "192.0.2.7")[0]
    # an unknown client (become, or not SSH at all) cannot be checked against sources: the port decides
    assert fr.management_check(restricted, 22, None) == []
    assert fr.management_check(restricted, 22, "garbage") == []
    # another accepted port carries the connection too
    assert fr.management_check(rules("h", allowed_ports=["2200-2300/tcp"]), 2222, "192.0.2.7") == []


@given(
    port=st.integers(1, 65535),
    client=st.ip_addresses(v=4).map(str),
    sources=st.lists(
        st.builds(
            lambda a, n: str(ipaddress.ip_network(f"{a}/{n}", strict=False)), st.ip_addresses(v=4), st.integers(0, 32)
        ),
        max_size=3,
    ),
)
def test_management_check_agrees_with_the_rules(port, client, sources):
    """The check refuses exactly when no accept rule for the port admits the client."""
    result = rules("h", ssh_port=port, ssh_sources=sources)
    admitted = not sources or any(ipaddress.ip_address(client) in ipaddress.ip_network(s) for s in sources)
    assert (fr.management_check(result, port, client) == []) == admitted
    assert result["accept"][0]["port"] == str(port)


def test_tailnet_subnet_router_or_exit_node_forwards_from_tailscale0():
    router = rules("laptop", [site_to_site()], tailnet_forwarding=True)
    assert router["forwarding"]["enabled"] is True
    assert router["forward"]["tunnel_to_any"] == ["tailscale0"]
    assert router["masquerade"] == []  # tailscaled masquerades its subnet routes itself
    assert (
        rules("laptop", [site_to_site()], tailnet_forwarding=True, forwarding=False)["forward"]["tunnel_to_any"] == []
    )
    assert rules("laptop", [site_to_site()], tailnet_forwarding=False)["forward"]["tunnel_to_any"] == []


# -- firewall_tunnel_interfaces: names that reach the rendered rules ----------------------------------------


@pytest.mark.parametrize("name", ["tailscale0", "wg0", "wg-site.b", "a_b", "x" * 15])
def test_tunnel_interface_names_accepted(name):
    assert [t["interface"] for t in rules("h", tunnel_interfaces=[name])["tunnels"]] == [name]


@pytest.mark.parametrize(
    "name",
    [
        'wg0" accept comment "',  # rendered as iifname "NAME": a quote makes an accept-all nft rule
        "wg0 accept",
        "wg0\n",
        "wg*",
        "x" * 16,
        "",
        ".",
        "..",
        "a/b",
        7,
    ],
)
def test_tunnel_interface_names_refused(name):
    with pytest.raises(fr.FirewallError) as info:
        rules("h", tunnel_interfaces=["tailscale0", name])
    assert info.value.problems == [
        f"host h: firewall_tunnel_interfaces: {name!r} is not an interface name "
        "(1 to 15 letters, digits, '_', '.' or '-'; no quotes, spaces or wildcards)"
    ]


def test_tunnel_interfaces_must_be_a_list():
    with pytest.raises(fr.FirewallError, match=r"host h: firewall_tunnel_interfaces: 'tailscale0' is not a list"):
        rules("h", tunnel_interfaces="tailscale0")
