"""The headscale_derp_relays filter: the relays the DERP map is built from, with the derp role's defaults."""

from pathlib import Path

import yaml

from ansible_collections.wgops.fleet.plugins.filter.headscale import FilterModule
from ansible_collections.wgops.fleet.plugins.module_utils._headscale import derpmap as headscale_derpmap

ROOT = Path(__file__).resolve().parents[4]
relays = FilterModule().filters()["headscale_derp_relays"]


def test_the_defaults_are_the_derp_roles():
    defaults = yaml.safe_load((ROOT / "roles" / "derp" / "defaults" / "main.yml").read_text(encoding="utf-8"))
    for variable, value in headscale_derpmap.RELAY_DEFAULTS.items():
        assert defaults[variable] == value, variable
    for variable in headscale_derpmap.NAMED_AFTER_HOST:
        assert defaults[variable] == "{{ inventory_hostname }}", variable


def test_unset_variables_take_the_defaults_and_set_ones_win():
    groups = {"derp": ["derp1", "derp2"], "all": ["derp1", "derp2", "hs"]}
    hostvars = {
        "derp1": {"derp_ipv4": "192.0.2.11"},
        "derp2": {
            "derp_region_id": 901,
            "derp_region_code": "fra",
            "derp_hostname": "relay.example.org",
            "derp_port": 8443,
        },
        "hs": {"derp_region_id": "not a relay: never read"},
    }
    assert relays(groups, "derp", hostvars) == [
        {
            "inventory_hostname": "derp1",
            "region_id": 900,
            "region_code": "derp1",
            "region_name": "derp1",
            "hostname": "derp1",
            "ipv4": "192.0.2.11",
            "ipv6": "",
            "stun_port": 3478,
            "derp_port": 443,
        },
        {
            "inventory_hostname": "derp2",
            "region_id": 901,
            "region_code": "fra",
            "region_name": "derp2",
            "hostname": "relay.example.org",
            "ipv4": "",
            "ipv6": "",
            "stun_port": 3478,
            "derp_port": 8443,
        },
    ]


def test_no_such_group_is_no_relay():
    assert relays({"all": ["hs"]}, "derp", {"hs": {}}) == []
