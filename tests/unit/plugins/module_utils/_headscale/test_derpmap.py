"""The DERP map builder (plugins/module_utils/_headscale/derpmap.py): the all-lowercase tailcfg.DERPMap keys
Headscale's yaml.v3 decoder expects, and one test per validation rule naming the relay host and variable."""

import re

import pytest
import yaml
from ansible.plugins.filter.core import to_nice_yaml
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.wgops.fleet.plugins.module_utils._headscale import derpmap as dm
from ansible_collections.wgops.fleet.plugins.module_utils._problems import PlanError

HS = "hs1"


def relay(name="derp1", region_id=901, **fields):
    values = {
        "inventory_hostname": name,
        "region_id": region_id,
        "hostname": f"{name}.example.com",
        "ipv4": f"192.168.10.{region_id - 890}",
    }
    values.update(fields)
    return values


def refused(host: str, variable: str, pattern: str, relays) -> list[str]:
    with pytest.raises(PlanError) as info:
        dm.derp_map(relays, HS)
    found = [str(problem) for problem in info.value.problems]
    assert any(m.startswith(f"host {host}: {variable}: ") and re.search(pattern, m) for m in found), found
    return found


def test_the_map_has_headscale_s_key_spelling():
    derp_map = dm.derp_map([relay(region_code="fra", region_name="Frankfurt", ipv6="2a01:4f8::5")], HS)
    assert derp_map == {
        "regions": {
            901: {
                "regionid": 901,
                "regioncode": "fra",
                "regionname": "Frankfurt",
                "nodes": [
                    {
                        "name": "901a",
                        "regionid": 901,
                        "hostname": "derp1.example.com",
                        "ipv4": "192.168.10.11",
                        "ipv6": "2a01:4f8::5",
                        "stunport": 3478,
                        "stunonly": False,
                        "derpport": 443,
                    }
                ],
            }
        }
    }


def test_the_map_round_trips_through_to_nice_yaml_with_integer_region_keys():
    derp_map = dm.derp_map([relay("b", 950), relay("a", 902)], HS)
    text = to_nice_yaml(derp_map, indent=2)
    assert re.search(r"^  902:$", text, re.M)
    assert yaml.safe_load(text) == derp_map
    assert list(derp_map["regions"]) == [902, 950]


def test_defaults_of_the_optional_fields():
    node_region = dm.derp_map([relay()], HS)["regions"][901]
    assert (node_region["regioncode"], node_region["regionname"]) == ("derp901", "derp1")
    assert "ipv6" not in node_region["nodes"][0]


def test_an_empty_relay_list_is_an_empty_map():
    assert dm.derp_map([], HS) == {"regions": {}}


def test_numbers_may_come_as_strings():
    region = dm.derp_map([relay(950) | {"region_id": "950", "stun_port": "3478"}], HS)["regions"][950]
    assert region["regionid"] == region["nodes"][0]["regionid"] == 950
    assert region["nodes"][0]["stunport"] == 3478


def test_ports_are_taken_as_given():
    node = dm.derp_map([relay(stun_port=3479, derp_port="8443")], HS)["regions"][901]["nodes"][0]
    assert (node["stunport"], node["derpport"]) == (3479, 8443)
    assert dm.derp_map([relay(stun_port=-1)], HS)["regions"][901]["nodes"][0]["stunport"] == -1


@pytest.mark.parametrize("region_id", [1, 899, 1000, "1000", "nine hundred", None, True])
def test_region_ids_are_900_to_999(region_id):
    refused("derp1", "derp_region_id", r"from 900 to 999", [relay(region_id=901) | {"region_id": region_id}])


def test_region_ids_are_unique():
    refused(
        "derp2", "derp_region_id", r"901 is also host derp1's region", [relay("derp1"), relay("derp2", ipv4="10.0.0.2")]
    )


@pytest.mark.parametrize(
    "address", ["", "192.0.2.10", "198.51.100.1", "203.0.113.5", "127.0.0.1", "0.0.0.0", "::1", "x"]
)
def test_a_real_ipv4_address_is_required(address):
    refused("derp1", "derp_ipv4", r"empty|documentation|loopback|unspecified|not an IPv4", [relay(ipv4=address)])


@pytest.mark.parametrize("address", ["2001:db8::1", "::1", "::", "fe80::1", "192.168.1.1", "::ffff:192.168.1.1"])
def test_ipv6_is_optional_but_real(address):
    refused(
        "derp1",
        "derp_ipv6",
        r"documentation|loopback|unspecified|link-local|not an IPv6|IPv4-mapped",
        [relay(ipv6=address)],
    )


def test_addresses_are_not_shared():
    refused(
        "derp2",
        "derp_ipv4",
        r"also host derp1's address",
        [relay("derp1", 901), relay("derp2", 902, ipv4="192.168.10.11")],
    )


@pytest.mark.parametrize(("field", "variable"), [("stun_port", "derp_stun_port"), ("derp_port", "derp_port")])
@pytest.mark.parametrize("port", [0, 65536, "https", True, -2])
def test_ports_are_in_range(field, variable, port):
    refused("derp1", variable, r"port from 1 to 65535", [relay(**{field: port})])


@pytest.mark.parametrize("hostname", ["", "192.168.10.11", "derp 1.example.com", "-derp.example.com", None])
def test_the_hostname_is_a_dns_name(hostname):
    refused("derp1", "derp_hostname", r"not a DNS name", [relay(hostname=hostname)])


def test_labels_are_non_empty_strings():
    refused("derp1", "derp_region_code", r"non-empty string", [relay(region_code=7)])


def test_unknown_relay_fields_are_refused():
    refused("derp1", "stunport", r"unknown relay field", [relay(stunport=3478)])


def test_bad_input_shapes():
    refused(HS, "relays", r"expected a list of relays", {"derp1": relay()})
    refused(HS, "relays", r"expected a relay mapping", ["derp1"])


def test_a_relay_without_a_name_is_reported_under_the_headscale_host():
    entry = relay()
    del entry["inventory_hostname"]
    refused(HS, "derp_ipv4", r"documentation", [entry | {"ipv4": "192.0.2.1"}])


def test_every_problem_at_once():
    with pytest.raises(PlanError) as info:
        dm.derp_map([relay(ipv4="192.0.2.1", derp_port=0), relay("derp2", 2, ipv4="10.0.0.2")], HS)
    assert len(info.value.problems) == 3
    assert str(info.value).startswith(f"the DERP map of host {HS}: 3 problem(s):")


@given(st.lists(st.integers(900, 999), unique=True, max_size=20))
def test_any_set_of_distinct_custom_region_ids_builds(region_ids):
    relays = [
        relay(f"derp{region_id}", region_id, ipv4=f"10.0.{region_id // 256}.{region_id % 256}")
        for region_id in region_ids
    ]
    derp_map = dm.derp_map(relays, HS)
    assert list(derp_map["regions"]) == sorted(region_ids)
    for region_id, region in derp_map["regions"].items():
        assert region["regionid"] == region["nodes"][0]["regionid"] == region_id
