"""The WireGuard filters (plugins/filter/wireguard.py), called as Ansible calls them: looked up by name in
FilterModule().filters(), on hostvars-like dicts; and once through Ansible's own templating, by FQCN.

Expected plans, tables and diagrams are written out by hand from docs/plan-format.md and the allocation rule
(new hosts in name order take the lowest free offset), public keys come from RFC 7748's test vectors and
libsodium's own API, and the preshared key from the standard library's HMAC, not from the plugin's helpers.
"""

import base64
import copy
import hashlib
import hmac
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nacl.public
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.wgops.fleet.plugins.filter.wireguard import FilterModule

FILTERS = FilterModule().filters()
REPO_ROOT = Path(__file__).resolve().parents[4]
WG = shutil.which("wg")

# RFC 7748, section 6.1 (Alice and Bob), in the base64 form `wg` uses.
ALICE_PRIVATE = "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo="
ALICE_PUBLIC = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="
BOB_PRIVATE = "XasIfmJKikt54X+Lg4AO5m87sSkmGLb9HC+LJ/+I4Os="
BOB_PUBLIC = "3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08="
SECRET = "correct horse battery staple"
NET = "10.99.0.0/24"


def libsodium_public(private_b64):
    return base64.b64encode(bytes(nacl.public.PrivateKey(base64.b64decode(private_b64)).public_key)).decode()


PRIVATE = {name: base64.b64encode(bytes([i + 1]) * 32).decode() for i, name in enumerate(["alpha", "bravo", "charlie"])}
PUBLIC = {name: libsodium_public(key) for name, key in PRIVATE.items()}


def f(name, *args):
    return FILTERS[name](*args)


def groups_of(names, **more):
    return {"all": list(names), "ungrouped": [], "wireguard": list(names), **more}


def hostvars(names=("alpha", "bravo", "charlie"), **extra):
    return {
        name: {
            "inventory_hostname": name,
            "ansible_host": f"192.0.2.{index + 10}",
            "wireguard_network": NET,
            "wireguard_endpoint": f"{name}.example.net",
            **extra.get(name, {}),
        }
        for index, name in enumerate(names)
    }


def inventory(names=("alpha", "bravo", "charlie"), **extra):
    return f("wireguard_inventory", groups_of(names), hostvars(names, **extra))


def peer(name, allowed, endpoint=None, keepalive=None, psk=False, key=None):
    return {
        "name": name,
        "public_key": key,
        "allowed_ips": allowed,
        "endpoint": endpoint,
        "persistent_keepalive": keepalive,
        "preshared_key": psk,
    }


def test_the_filters_are_registered_under_their_documented_names():
    assert set(FILTERS) == {
        "wireguard_inventory",
        "wireguard_validate",
        "wireguard_plan",
        "wireguard_host_plan",
        "wireguard_pubkey",
        "wireguard_psk",
        "wireguard_plan_table",
        "wireguard_plan_diagram",
    }
    documented = {p.stem for p in (REPO_ROOT / "plugins" / "filter").glob("wireguard*.yml")}
    assert documented == set(FILTERS)


# -- wireguard_inventory -----------------------------------------------------------------------------------


def test_inventory_takes_the_group_and_reduces_secrets():
    variables = hostvars(
        ("alpha", "bravo"),
        alpha={"wireguard_private_key": ALICE_PRIVATE, "wireguard_psk_secret": SECRET},
        bravo={"wireguard_psk_secret": SECRET, "vault_other": "x"},
    )
    groups = groups_of(("alpha", "bravo"), site=["alpha"], other=["zulu"])
    result = f("wireguard_inventory", groups, variables)
    assert sorted(result["hosts"]) == ["alpha", "bravo"]
    assert result["groups"] == {"wireguard": ["alpha", "bravo"], "site": ["alpha"], "other": ["zulu"]}
    alpha = result["hosts"]["alpha"]
    assert alpha["wireguard_network"] == NET and alpha["wireguard_endpoint"] == "alpha.example.net"
    assert "ansible_host" not in alpha and "inventory_hostname" not in alpha
    assert alpha["wireguard_private_key_public"] == ALICE_PUBLIC
    assert alpha["wireguard_psk_secret_set"] is True and alpha["wireguard_psk_secret_length"] == len(SECRET)
    text = json.dumps(result)
    assert ALICE_PRIVATE not in text and SECRET not in text


def test_inventory_of_another_group():
    variables = hostvars(("alpha", "bravo"))
    result = f("wireguard_inventory", {"all": ["alpha", "bravo"], "wg_lab": ["bravo"]}, variables, "wg_lab")
    assert list(result["hosts"]) == ["bravo"]


def test_inventory_without_the_group_is_a_filter_error():
    with pytest.raises(AnsibleFilterError, match="the inventory has no group 'wireguard'; put the WireGuard hosts in"):
        f("wireguard_inventory", {"all": ["alpha"], "ungrouped": ["alpha"]}, hostvars(("alpha",)))


# -- wireguard_plan and wireguard_host_plan ---------------------------------------------------------------


def test_a_mesh_plan_by_hand():
    inv = inventory(
        alpha={"wireguard_public_key": PUBLIC["alpha"]},
        charlie={"wireguard_endpoint": None, "wireguard_behind_nat": True, "wireguard_port": 51999},
    )
    state = {"hosts": {"bravo": {"public_key": PUBLIC["bravo"], "addresses": ["10.99.0.7/24"]}}}
    plan = f("wireguard_plan", inv, state)
    # bravo keeps its recorded .7; alpha and charlie, in name order, take .1 and .2
    assert plan == {
        "alpha": {
            "interface": "wg0",
            "addresses": ["10.99.0.1/24"],
            "listen_port": 51820,
            "peers": [
                peer("bravo", ["10.99.0.7/32"], "bravo.example.net:51820", key=PUBLIC["bravo"]),
                peer("charlie", ["10.99.0.2/32"]),
            ],
        },
        "bravo": {
            "interface": "wg0",
            "addresses": ["10.99.0.7/24"],
            "listen_port": 51820,
            "peers": [
                peer("alpha", ["10.99.0.1/32"], "alpha.example.net:51820", key=PUBLIC["alpha"]),
                peer("charlie", ["10.99.0.2/32"]),
            ],
        },
        "charlie": {
            "interface": "wg0",
            "addresses": ["10.99.0.2/24"],
            "listen_port": None,  # behind NAT without an endpoint: the kernel picks a port
            "peers": [
                peer("alpha", ["10.99.0.1/32"], "alpha.example.net:51820", 25, key=PUBLIC["alpha"]),
                peer("bravo", ["10.99.0.7/32"], "bravo.example.net:51820", 25, key=PUBLIC["bravo"]),
            ],
        },
    }


def hub_spoke():
    common = {"wireguard_topology": "hub_spoke"}
    spoke = {**common, "wireguard_endpoint": None, "wireguard_behind_nat": True}
    names = ("hub", "s1", "s2")
    return inventory(
        names,
        hub={**common, "wireguard_hub": True},
        s1=spoke,
        s2={**spoke, "wireguard_routed_subnets": ["192.168.50.0/24"]},
    )


HUB_STATE = {"hosts": {"hub": {"public_key": ALICE_PUBLIC}, "s1": {"public_key": BOB_PUBLIC}}}


def test_a_hub_spoke_plan_by_hand():
    plan = f("wireguard_plan", hub_spoke(), HUB_STATE)
    hub_peer = ["10.99.0.1/32", "10.99.0.0/24"]
    assert plan == {
        "hub": {
            "interface": "wg0",
            "addresses": ["10.99.0.1/24"],
            "listen_port": 51820,
            "peers": [
                peer("s1", ["10.99.0.2/32"], key=BOB_PUBLIC),
                peer("s2", ["10.99.0.3/32", "192.168.50.0/24"]),
            ],
        },
        "s1": {
            "interface": "wg0",
            "addresses": ["10.99.0.2/24"],
            "listen_port": None,
            # the primary hub carries the whole network and the subnets the spoke does not route itself
            "peers": [peer("hub", [*hub_peer, "192.168.50.0/24"], "hub.example.net:51820", 25, key=ALICE_PUBLIC)],
        },
        "s2": {
            "interface": "wg0",
            "addresses": ["10.99.0.3/24"],
            "listen_port": None,
            "peers": [peer("hub", hub_peer, "hub.example.net:51820", 25, key=ALICE_PUBLIC)],
        },
    }


@pytest.mark.parametrize(
    ("make", "state"),
    [
        (hub_spoke, HUB_STATE),
        (hub_spoke, None),
        (lambda: inventory(bravo={"wireguard_exit_node": True}, charlie={"wireguard_via_exit_node": "bravo"}), None),
    ],
    ids=["hub-spoke", "hub-spoke-no-state", "mesh-exit-node"],
)
def test_each_host_plan_is_its_slice_of_the_whole_plan(make, state):
    inv = make()
    plan = f("wireguard_plan", inv, state)
    keys = {name: (state or {}).get("hosts", {}).get(name, {}).get("public_key") for name in plan}
    for name, entry in plan.items():
        host_plan = f("wireguard_host_plan", inv, state, name)
        assert host_plan.pop("state") == "present"
        assert host_plan.pop("public_key") == keys[name]
        assert isinstance(host_plan.pop("forwarding"), bool)
        assert host_plan == entry


def test_forwarding_is_on_for_hubs_exit_nodes_and_routers():
    inv = hub_spoke()
    assert {n: f("wireguard_host_plan", inv, None, n)["forwarding"] for n in ("hub", "s1", "s2")} == {
        "hub": True,
        "s1": False,
        "s2": True,  # routes 192.168.50.0/24
    }
    mesh = inventory(bravo={"wireguard_exit_node": True})
    assert [f("wireguard_host_plan", mesh, None, n)["forwarding"] for n in ("alpha", "bravo", "charlie")] == [
        False,
        True,
        False,
    ]


def test_a_host_through_an_exit_node_sends_the_default_routes_there():
    inv = inventory(bravo={"wireguard_exit_node": True}, charlie={"wireguard_via_exit_node": "bravo"})
    charlie = f("wireguard_host_plan", inv, None, "charlie")
    assert {p["name"]: p["allowed_ips"] for p in charlie["peers"]} == {
        "alpha": ["10.99.0.1/32"],
        "bravo": ["10.99.0.2/32", "0.0.0.0/0", "::/0"],
    }


def test_the_host_plan_of_an_absent_host_and_of_a_stranger():
    inv = inventory(charlie={"wireguard_state": "absent"})
    assert f("wireguard_host_plan", inv, {}, "charlie") == {"state": "absent"}
    assert [p["name"] for p in f("wireguard_host_plan", inv, {}, "alpha")["peers"]] == ["bravo"]
    with pytest.raises(AnsibleFilterError, match=r"^wireguard_host_plan: host zulu is not in the WireGuard group$"):
        f("wireguard_host_plan", inv, {}, "zulu")


def test_an_unmanaged_peer_is_planned_like_a_host():
    clients = [{"name": "phone", "connect_to": ["alpha"], "public_key": BOB_PUBLIC}]
    # network-wide: the same list on every host, as group vars give it
    inv = inventory(
        alpha={"wireguard_unmanaged_peers": clients, "wireguard_public_key": PUBLIC["alpha"]},
        bravo={"wireguard_unmanaged_peers": clients},
        charlie={"wireguard_unmanaged_peers": clients},
    )
    phone = f("wireguard_host_plan", inv, None, "phone")
    assert phone["addresses"] == ["10.99.0.4/24"]  # after alpha, bravo and charlie, in name order
    assert phone["public_key"] == BOB_PUBLIC
    assert phone["peers"] == [peer("alpha", ["10.99.0.1/32"], "alpha.example.net:51820", 25, key=PUBLIC["alpha"])]
    plan = f("wireguard_plan", inv)
    assert [p["name"] for p in plan["alpha"]["peers"]] == ["bravo", "charlie", "phone"]
    assert [p["name"] for p in plan["bravo"]["peers"]] == ["alpha", "charlie"]


def test_preshared_keys_are_flagged_when_both_ends_have_the_secret_and_keys():
    both = {n: {"wireguard_psk_secret": SECRET, "wireguard_private_key": PRIVATE[n]} for n in ("alpha", "bravo")}
    inv = inventory(**both, charlie={"wireguard_psk_secret": SECRET})  # charlie's key is not known yet
    plan = f("wireguard_plan", inv)
    assert {p["name"]: p["preshared_key"] for p in plan["alpha"]["peers"]} == {"bravo": True, "charlie": False}
    assert {p["name"]: p["public_key"] for p in plan["alpha"]["peers"]} == {"bravo": PUBLIC["bravo"], "charlie": None}
    text = json.dumps(plan)
    assert SECRET not in text and not any(key in text for key in PRIVATE.values())


def test_the_filters_leave_their_input_alone():
    inv = hub_spoke()
    state = copy.deepcopy(HUB_STATE)
    before = copy.deepcopy(inv), copy.deepcopy(state)
    f("wireguard_validate", inv, state)
    f("wireguard_plan", inv, state)
    for name in ("hub", "s1", "s2"):
        f("wireguard_host_plan", inv, state, name)
    assert (inv, state) == before


# -- wireguard_validate ------------------------------------------------------------------------------------


def test_validate_returns_the_warnings():
    inv = inventory(
        ("alpha", "bravo", "charlie", "delta"),
        **{n: {"wireguard_endpoint": None, "wireguard_behind_nat": True} for n in ("charlie", "delta")},
    )
    assert f("wireguard_validate", inv, {"hosts": {n: {"public_key": PUBLIC[n]} for n in PUBLIC}}) == [
        "host charlie: wireguard_endpoint: neither charlie nor delta has an endpoint, so they can never handshake; "
        "give one of them wireguard_endpoint, or keep them apart with wireguard_peers_exclude (pair left out)",
        "no public key known yet for delta: peers are configured once those hosts are converged",
    ]
    plan = f("wireguard_plan", inv)
    assert [p["name"] for p in plan["charlie"]["peers"]] == ["alpha", "bravo"]


def test_validate_of_a_good_inventory_with_every_key_warns_of_nothing():
    inv = inventory(**{n: {"wireguard_private_key": PRIVATE[n]} for n in PRIVATE})
    assert f("wireguard_validate", inv) == []


@pytest.mark.parametrize("name", ["wireguard_validate", "wireguard_plan", "wireguard_host_plan"])
def test_every_problem_is_one_filter_error_naming_host_and_variable(name):
    inv = inventory(
        alpha={"wireguard_hub": "yes"},
        bravo={"wireguard_port": 70000},
        charlie={"wireguard_endpont": "charlie.example.net", "wireguard_private_key": "not a key"},
    )
    args = (inv, None, "alpha") if name == "wireguard_host_plan" else (inv,)
    with pytest.raises(AnsibleFilterError) as error:
        f(name, *args)
    message = str(error.value)
    assert message.startswith("the WireGuard inventory has 4 problem(s):\n")
    lines = message.splitlines()[1:]
    assert len(lines) == 4
    for host, variable in [
        ("alpha", "wireguard_hub"),
        ("bravo", "wireguard_port"),
        ("charlie", "wireguard_endpont"),
        ("charlie", "wireguard_private_key"),
    ]:
        assert any(line.startswith(f"  - host {host}: {variable}: ") for line in lines), (host, variable, message)
    assert "not a key" not in message  # the private key is not shown, even a malformed one


def test_an_empty_group_is_a_filter_error():
    with pytest.raises(AnsibleFilterError, match="host \\(none\\): wireguard group: has no hosts"):
        f("wireguard_validate", {"hosts": {}, "groups": {"wireguard": []}})


# -- wireguard_pubkey --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("private", "public"), [(ALICE_PRIVATE, ALICE_PUBLIC), (BOB_PRIVATE, BOB_PUBLIC)])
def test_pubkey_of_the_rfc7748_vectors(private, public):
    assert f("wireguard_pubkey", private) == public
    assert libsodium_public(private) == public  # the reference route agrees with the RFC too


@pytest.mark.parametrize("raw", [bytes(32), bytes(range(32)), b"\xff" * 32, bytes([1]) * 32])
def test_pubkey_is_what_libsodium_and_wg_say(raw):
    """Unclamped scalars too: `wg pubkey` (and the filter) clamp before multiplying."""
    private = base64.b64encode(raw).decode()
    public = f("wireguard_pubkey", private)
    assert public == libsodium_public(private)
    if WG is not None:  # wireguard-tools installed: what `wg pubkey` prints
        printed = subprocess.run([WG, "pubkey"], input=private.encode(), capture_output=True, check=True)
        assert public == printed.stdout.decode().strip()


def test_pubkey_takes_the_newline_a_vault_file_leaves():
    assert f("wireguard_pubkey", ALICE_PRIVATE + "\n") == ALICE_PUBLIC


@pytest.mark.parametrize("bad", ["", "short", ALICE_PRIVATE[:-1] + "A", "!" + ALICE_PRIVATE[1:], None, 42])
def test_pubkey_of_a_malformed_key_is_a_filter_error_that_does_not_show_it(bad):
    with pytest.raises(AnsibleFilterError, match=r"^wireguard_pubkey: the private key ") as error:
        f("wireguard_pubkey", bad)
    if isinstance(bad, str) and bad:
        assert bad not in str(error.value)


# -- wireguard_psk -----------------------------------------------------------------------------------------


def reference_psk(secret, key_a, key_b):
    """HMAC-SHA256 keyed by the secret over the two raw public keys in sorted order (the filter's doc); the
    context label is the collection's own (plugins/module_utils/_wireguard/keys.py)."""
    first, second = sorted((base64.b64decode(key_a), base64.b64decode(key_b)))
    message = b"wgops.fleet preshared key v1\x00" + first + second
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def test_psk_is_the_documented_hmac_and_does_not_change_between_releases():
    psk = f("wireguard_psk", SECRET, ALICE_PUBLIC, BOB_PUBLIC)
    assert psk == reference_psk(SECRET, ALICE_PUBLIC, BOB_PUBLIC)
    # pinned: both ends of a pair may be converged by different releases, and must still agree
    assert psk == "kP/Ol590WZU1fzUCywDtOOEb5EZ6D/37nzZPzoAZ62I="


def test_psk_is_the_same_from_both_ends_and_different_for_every_pair_and_secret():
    keys = [ALICE_PUBLIC, BOB_PUBLIC, *PUBLIC.values()]
    seen = {}
    for a in keys:
        for b in keys:
            if a == b:
                continue
            psk = f("wireguard_psk", SECRET, a, b)
            assert psk == f("wireguard_psk", SECRET, b, a)
            assert len(base64.b64decode(psk, validate=True)) == 32
            seen.setdefault(frozenset((a, b)), psk)
    assert len(set(seen.values())) == len(seen) == 10
    assert f("wireguard_psk", SECRET + "!", ALICE_PUBLIC, BOB_PUBLIC) != seen[frozenset((ALICE_PUBLIC, BOB_PUBLIC))]
    # opaque: neither the secret nor a key shows through
    for psk in seen.values():
        assert psk not in keys and SECRET not in psk


@pytest.mark.parametrize(
    ("secret", "key_a", "key_b", "why"),
    [
        ("too short", ALICE_PUBLIC, BOB_PUBLIC, "the preshared-key secret must be a string of at least 16 characters"),
        (None, ALICE_PUBLIC, BOB_PUBLIC, "the preshared-key secret must be a string of at least 16 characters"),
        (SECRET, ALICE_PUBLIC, ALICE_PUBLIC, "a preshared key needs two different public keys"),
        (SECRET, ALICE_PUBLIC, "nope", "must be 44 base64 characters ending in '=' (32 bytes)"),
    ],
    ids=["short-secret", "no-secret", "same-key", "bad-key"],
)
def test_psk_errors_are_filter_errors_that_do_not_show_the_secret(secret, key_a, key_b, why):
    with pytest.raises(AnsibleFilterError) as error:
        f("wireguard_psk", secret, key_a, key_b)
    assert str(error.value).startswith("wireguard_psk: ")
    assert why in str(error.value)
    if secret:
        assert secret not in str(error.value)


# -- wireguard_plan_table and wireguard_plan_diagram -------------------------------------------------------

KEY = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
HAND_PLAN = {
    "bravo": {
        "interface": "wg1",
        "addresses": ["10.99.0.2/24", "fd00:99::2/64"],
        "listen_port": None,
        "peers": [peer("alpha", ["10.99.0.1/32"], keepalive=25)],
    },
    "alpha": {
        "interface": "wg0",
        "addresses": ["10.99.0.1/24"],
        "listen_port": 51820,
        "peers": [peer("bravo", ["10.99.0.2/32", "10.1.0.0/16"], "bravo.example.net:51820", psk=True, key=KEY)],
    },
}


def test_table_by_hand():
    assert f("wireguard_plan_table", HAND_PLAN).splitlines() == [
        "alpha  wg0  10.99.0.1/24  port 51820  1 peer(s)",
        "    peer   allowed ips                endpoint                 keepalive  psk  key",
        "    bravo  10.99.0.2/32, 10.1.0.0/16  bravo.example.net:51820  -          yes  xTIBA5rboU...",
        "",
        "bravo  wg1  10.99.0.2/24, fd00:99::2/64  port auto  1 peer(s)",
        "    peer   allowed ips   endpoint  keepalive  psk  key",
        "    alpha  10.99.0.1/32  -         25         no   not known yet",
    ]


def test_table_of_a_planned_inventory_has_a_block_per_host():
    table = f("wireguard_plan_table", f("wireguard_plan", hub_spoke(), HUB_STATE))
    heads = [line for line in table.splitlines() if line and not line.startswith(" ")]
    assert heads == [
        "hub  wg0  10.99.0.1/24  port 51820  2 peer(s)",
        "s1  wg0  10.99.0.2/24  port auto  1 peer(s)",
        "s2  wg0  10.99.0.3/24  port auto  1 peer(s)",
    ]
    assert ALICE_PUBLIC not in table and ALICE_PUBLIC[:10] + "..." in table  # only a prefix of each key


def test_mermaid_diagram_by_hand():
    assert f("wireguard_plan_diagram", HAND_PLAN) == (
        "graph LR\n"
        '  n0["alpha<br/>10.99.0.1/24"]\n'
        '  n1["bravo<br/>10.99.0.2/24<br/>fd00:99::2/64"]\n'
        "  n0 === n1\n"  # bold: alpha routes 10.1.0.0/16 to bravo
    )


def test_graphviz_diagram():
    text = f("wireguard_plan_diagram", f("wireguard_plan", hub_spoke()), "graphviz")
    lines = text.splitlines()
    assert lines[0] == "graph wireguard {" and lines[-1] == "}"
    assert 'label="WireGuard: 3 host(s), 2 tunnel(s)"' in lines[1]
    assert '  n0 [label="hub\\n10.99.0.1/24"];' in lines
    # hub-s1 carries the whole network, hub-s2 too (and s2's subnet): both bold
    assert [line for line in lines if " -- " in line] == ["  n0 -- n1 [style=bold];", "  n0 -- n2 [style=bold];"]
    if shutil.which("dot"):
        subprocess.run(["dot", "-Tsvg"], input=text.encode(), capture_output=True, check=True)


def test_a_mesh_of_own_addresses_only_draws_plain_links():
    text = f("wireguard_plan_diagram", f("wireguard_plan", inventory()), "mermaid")
    assert [line for line in text.splitlines() if "---" in line or "===" in line] == [
        "  n0 --- n1",
        "  n0 --- n2",
        "  n1 --- n2",
    ]


def test_an_unknown_diagram_format_is_a_filter_error():
    with pytest.raises(
        AnsibleFilterError, match=r"^wireguard_plan_diagram: format 'svg' is not one of mermaid, graphviz"
    ):
        f("wireguard_plan_diagram", HAND_PLAN, "svg")


# -- through Ansible's templating -------------------------------------------------------------------------

TEMPLATING = r"""
import json, sys
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
_AnsibleCollectionFinder(paths=[sys.argv[1]], scan_sys_paths=False)._install()
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
variables = json.loads(sys.stdin.read())
templar = Templar(loader=DataLoader(), variables=variables)
out = {}
for name, expression in variables["expressions"].items():
    try:
        out[name] = {"value": templar.template(trust_as_template(expression))}
    except Exception as exc:
        out[name] = {"error": type(exc).__name__, "message": str(exc)}
print(json.dumps(out))
"""


def test_the_filters_through_ansible_templating_by_fqcn():
    """In a separate interpreter: installing Ansible's collection finder is process-wide."""
    variables = {
        "groups": groups_of(("alpha", "bravo")),
        "hostvars": hostvars(("alpha", "bravo"), alpha={"wireguard_private_key": ALICE_PRIVATE}),
        "key": ALICE_PRIVATE,
        "expressions": {
            "pubkey": "{{ key | wgops.fleet.wireguard_pubkey }}",
            "bad_pubkey": "{{ 'nope' | wgops.fleet.wireguard_pubkey }}",
            "plan": "{{ groups | wgops.fleet.wireguard_inventory(hostvars) | wgops.fleet.wireguard_plan }}",
            "host": "{{ groups | wgops.fleet.wireguard_inventory(hostvars)"
            " | wgops.fleet.wireguard_host_plan({}, 'bravo') }}",
        },
    }
    done = subprocess.run(
        [sys.executable, "-c", TEMPLATING, str(REPO_ROOT / ".build" / "collections")],
        input=json.dumps(variables),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    out = json.loads(done.stdout.splitlines()[-1])
    assert out["pubkey"] == {"value": ALICE_PUBLIC}
    assert "error" in out["bad_pubkey"]
    assert "wireguard_pubkey: the private key must be 44 base64 characters" in out["bad_pubkey"]["message"]
    plan = out["plan"]["value"]
    assert plan["bravo"]["peers"] == [peer("alpha", ["10.99.0.1/32"], "alpha.example.net:51820", key=ALICE_PUBLIC)]
    assert out["host"]["value"] == {**plan["bravo"], "state": "present", "forwarding": False, "public_key": None}
    assert ALICE_PRIVATE not in json.dumps(plan)
