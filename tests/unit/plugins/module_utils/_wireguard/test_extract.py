"""The planner's input from Ansible's groups and hostvars (plugins/module_utils/_wireguard/extract.py)."""

import json
from collections.abc import Mapping

import pytest

from ansible_collections.wgops.fleet.plugins.module_utils._wireguard import keys
from ansible_collections.wgops.fleet.plugins.module_utils._wireguard.extract import extract_inventory

PRIVATE = keys.encode_key(keys.clamp(bytes(range(32))))
SECRET = "correct horse battery staple"


class CountingHostvars(Mapping):
    """Stands in for Ansible's HostVars: counts `hostvars[name]`, which is expensive there."""

    def __init__(self, hosts):
        self.hosts = hosts
        self.lookups = {}

    def __getitem__(self, name):
        self.lookups[name] = self.lookups.get(name, 0) + 1
        return self.hosts[name]

    def __iter__(self):
        return iter(self.hosts)

    def __len__(self):
        return len(self.hosts)


def extract(hosts, groups=None, group="wireguard"):
    groups = groups if groups is not None else {"all": list(hosts), "wireguard": list(hosts)}
    return extract_inventory(groups, hosts, group)


def test_input_variables_are_copied_and_other_groups_kept():
    hosts = {"alpha": {"wireguard_network": "10.0.0.0/24", "wireguard_endpoint": "a.example", "ansible_host": "x"}}
    result = extract(hosts, {"all": ["alpha"], "ungrouped": [], "wireguard": ["alpha"], "site": ["alpha"]})
    assert result["groups"] == {"wireguard": ["alpha"], "site": ["alpha"]}
    values = result["hosts"]["alpha"]
    assert values["wireguard_network"] == "10.0.0.0/24"
    assert values["wireguard_endpoint"] == "a.example"
    assert "ansible_host" not in values


def test_missing_group_is_a_value_error_naming_it():
    with pytest.raises(ValueError, match="no group 'vpn'"):
        extract({"alpha": {}}, group="vpn")


def test_each_hosts_hostvars_are_read_once():
    hostvars = CountingHostvars({f"h{i}": {"wireguard_network": "10.0.0.0/24"} for i in range(50)})
    extract_inventory({"wireguard": list(hostvars.hosts)}, hostvars)
    assert hostvars.lookups == {name: 1 for name in hostvars.hosts}


def test_no_secret_reaches_the_output():
    hosts = {"alpha": {"wireguard_private_key": PRIVATE, "wireguard_psk_secret": SECRET}}
    text = json.dumps(extract(hosts))
    assert PRIVATE not in text
    assert SECRET not in text


def test_psk_secret_set_and_length():
    result = extract({"alpha": {"wireguard_psk_secret": SECRET}, "bravo": {}, "charlie": {"wireguard_psk_secret": ""}})
    alpha, bravo, charlie = (result["hosts"][name] for name in ("alpha", "bravo", "charlie"))
    assert (alpha["wireguard_psk_secret_set"], alpha["wireguard_psk_secret_length"]) == (True, 28)
    assert (bravo["wireguard_psk_secret_set"], bravo["wireguard_psk_secret_length"]) == (False, 0)
    assert (charlie["wireguard_psk_secret_set"], charlie["wireguard_psk_secret_length"]) == (False, 0)
    assert alpha["wireguard_psk_secret_invalid"] is None


def test_psk_secret_that_is_not_a_string():
    values = extract({"alpha": {"wireguard_psk_secret": 12345678901234567890}})["hosts"]["alpha"]
    assert "not a string" in values["wireguard_psk_secret_invalid"]
    assert "12345678901234567890" not in json.dumps(values)


def test_private_key_gives_its_public_key():
    values = extract({"alpha": {"wireguard_private_key": PRIVATE}})["hosts"]["alpha"]
    # independent expectation: the pure-Python RFC 7748 ladder, not libsodium
    assert values["wireguard_private_key_public"] == keys.public_key_pure(PRIVATE)
    assert values["wireguard_private_key_invalid"] is None


@pytest.mark.parametrize("private", ["not-a-key", PRIVATE[:-2] + "==", "A" * 43 + "!", ["x"]])
def test_malformed_private_key_gives_a_reason_without_the_key(private):
    values = extract({"alpha": {"wireguard_private_key": private}})["hosts"]["alpha"]
    assert values["wireguard_private_key_public"] is None
    reason = values["wireguard_private_key_invalid"]
    assert reason
    assert str(private) not in reason


def test_unset_private_key():
    values = extract({"alpha": {}, "bravo": {"wireguard_private_key": None}})["hosts"]
    for name in ("alpha", "bravo"):
        assert values[name]["wireguard_private_key_public"] is None
        assert values[name]["wireguard_private_key_invalid"] is None


def test_every_wireguard_variable_name_is_listed():
    hosts = {"alpha": {"wireguard_endpiont": "x", "wireguard_network": "10.0.0.0/24", "other": 1, "__wireguard_x": 2}}
    assert extract(hosts)["hosts"]["alpha"]["wireguard_variables"] == ["wireguard_endpiont", "wireguard_network"]


def test_output_is_plain_json_data():
    class Lazy(Mapping):
        def __init__(self, data):
            self.data = data

        def __getitem__(self, key):
            return self.data[key]

        def __iter__(self):
            return iter(self.data)

        def __len__(self):
            return len(self.data)

    peers = (Lazy({"name": "phone", "connect_to": ("alpha",)}),)
    values = extract({"alpha": Lazy({"wireguard_unmanaged_peers": peers})})["hosts"]["alpha"]
    assert values["wireguard_unmanaged_peers"] == [{"name": "phone", "connect_to": ["alpha"]}]
    assert type(values["wireguard_unmanaged_peers"][0]) is dict  # pylint: disable=unidiomatic-typecheck
    json.dumps(values)
