#!/usr/bin/python
# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: headscale_node
short_description: Manage a registered Headscale node's routes, tags and name, or expire or delete it
version_added: 0.1.0
description:
  - Finds one node registered with Headscale by O(id), O(name) or O(node_key) and converges the attributes
    given; attributes left unset are not touched.
  - Nodes are created by registering a Tailscale client (for example with a key from
    M(wgops.fleet.headscale_preauthkey)); this module does not create them.
  - Runs on the Headscale host and drives the C(headscale) CLI, which talks to the running server over
    its unix socket. Supports Headscale 0.26 and newer.
options:
  id:
    description: The node's ID.
    type: int
  name:
    description:
      - The node's given name (its MagicDNS name), or else its host name. A node renamed with O(rename) is
        still found by the host name it registered with.
    type: str
  node_key:
    description: The node's public node key, with or without the C(nodekey:) prefix.
    type: str
  state:
    description:
      - V(present) converges the given attributes of the node, which must exist.
      - V(expired) does that too, then expires the node's key (the node must log in again); a node that
        is expired already is left alone.
      - V(absent) deletes the node.
    type: str
    choices: [present, expired, absent]
    default: present
  approved_routes:
    description:
      - The subnet routes approved for the node, as a full set; the list given becomes exactly the approved
        set, an empty list removes every approval.
      - Prefixes are compared in canonical form (V(10.1.2.3/24) counts as V(10.1.2.0/24)). Approving one
        default route (V(0.0.0.0/0) or V(::/0)) approves both, as Headscale does for exit nodes.
      - Headscale accepts approvals of routes the node does not announce (yet); RV(node.available_routes)
        lists what it announces.
    type: list
    elements: str
  tags:
    description:
      - The node's tags (each like V(tag:server)), as a full set.
      - Up to Headscale 0.27 this is the node's forced tags (what C(headscale nodes tag) sets); tags the
        node announces itself and the policy allows are kept in addition (RV(node.tags) shows all).
      - From Headscale 0.28 tags make a node a tagged node (owned by its tags, not a user), every tag must be
        defined in the policy's C(tagOwners), and a tagged node cannot lose all its tags; an empty list is
        then refused unless the node has no tags.
    type: list
    elements: str
  rename:
    description:
      - The node's new given name, a DNS label (lower case letters, digits and hyphens).
    type: str
extends_documentation_fragment:
  - wgops.fleet.headscale
author:
  - wgops.fleet maintainers (@wgops)
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Reads the node and returns it as it would be after the changes, which are not made.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: The diff shows the managed attributes (given name, tags, approved routes, expired) before and after.
seealso:
  - module: wgops.fleet.headscale_preauthkey
  - module: wgops.fleet.headscale_info
"""

EXAMPLES = r"""
- name: Approve exactly the routes the subnet router announces for the office
  wgops.fleet.headscale_node:
    name: router1
    approved_routes:
      - 10.20.0.0/16
      - 192.168.7.0/24

- name: Make a node an exit node (approves 0.0.0.0/0 and ::/0)
  wgops.fleet.headscale_node:
    name: exit1
    approved_routes: [0.0.0.0/0]

- name: Tag a server and give it a stable name
  wgops.fleet.headscale_node:
    name: ip-10-0-3-7
    rename: db1
    tags: [tag:db]

- name: Log a node out (it must authenticate again)
  wgops.fleet.headscale_node:
    id: 12
    state: expired

- name: Remove a node
  wgops.fleet.headscale_node:
    name: old-laptop
    state: absent
"""

RETURN = r"""
node:
  description: The node after the run (as it would be in check mode); null when it is absent.
  returned: always
  type: dict
  contains:
    id:
      description: Node ID.
      type: int
    name:
      description: The host name the node registered with.
      type: str
    given_name:
      description: The node's given (MagicDNS) name.
      type: str
    user:
      description:
        - Name of the user owning the node. Headscale 0.28 and newer list tagged nodes under the pseudo user C(tagged-devices).
      type: str
    ip_addresses:
      description: Tailnet addresses of the node.
      type: list
      elements: str
    online:
      description: Whether the node is connected.
      type: bool
    available_routes:
      description: Routes the node announces.
      type: list
      elements: str
    approved_routes:
      description: Routes approved for the node.
      type: list
      elements: str
    subnet_routes:
      description: Routes the node serves (approved, announced and primary).
      type: list
      elements: str
    tags:
      description: The node's effective tags.
      type: list
      elements: str
    forced_tags:
      description: The tags C(headscale nodes tag) manages (up to 0.27 the forced tags; from 0.28 the same as RV(node.tags)).
      type: list
      elements: str
    last_seen:
      description: When the node was last seen (RFC 3339, UTC), or null.
      type: str
    expiry:
      description: When the node's key expires (RFC 3339, UTC), or null when it never does.
      type: str
    expired:
      description: Whether RV(node.expiry) has passed.
      type: bool
  sample:
    id: 3
    name: router1
    given_name: router1
    user: fleet
    user_id: 1
    ip_addresses: [100.64.0.3, "fd7a:115c:a1e0::3"]
    online: true
    available_routes: [10.20.0.0/16]
    approved_routes: [10.20.0.0/16]
    subnet_routes: [10.20.0.0/16]
    tags: []
    forced_tags: []
    invalid_tags: []
    last_seen: "2025-06-01T10:00:00Z"
    expiry: null
    expired: false
    created_at: "2025-05-01T10:00:00Z"
    node_key: "nodekey:6c3d..."
    machine_key: "mkey:9a1b..."
    ephemeral: false
    register_method: authkey
changes:
  description: The CLI changes made (or that would be made in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: ["approved_routes", "tags"]
headscale_version:
  description: The Headscale version the CLI reported.
  returned: always
  type: str
  sample: 0.28.0
"""

import copy

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.wgops.fleet.plugins.module_utils._headscale.cli import (
    COMMON_ARGUMENT_SPEC,
    HeadscaleError,
    canonical_prefix,
    expand_exit_routes,
    failing_on_error,
    find_node,
    module_start,
)

DIFF_KEYS = ("given_name", "tags", "approved_routes", "expired")


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "id": {"type": "int"},
            "name": {"type": "str"},
            "node_key": {"type": "str", "no_log": False},
            "state": {"type": "str", "choices": ["present", "expired", "absent"], "default": "present"},
            "approved_routes": {"type": "list", "elements": "str"},
            "tags": {"type": "list", "elements": "str"},
            "rename": {"type": "str"},
            **COMMON_ARGUMENT_SPEC,
        },
        required_one_of=[("id", "name", "node_key")],
        mutually_exclusive=[("id", "name", "node_key")],
        supports_check_mode=True,
    )
    params = module.params
    wanted_routes = None
    if params["approved_routes"] is not None:
        try:
            wanted_routes = expand_exit_routes([canonical_prefix(r) for r in params["approved_routes"] if r.strip()])
        except ValueError as exc:
            module.fail_json(msg=f"approved_routes: {exc}")
    wanted_tags = None
    if params["tags"] is not None:
        wanted_tags = sorted({tag.strip() for tag in params["tags"] if tag.strip()})
    if params["rename"] is not None and not params["rename"].strip():
        module.fail_json(msg="rename must not be empty")

    cli, result = module_start(module, changes=[], node=None)
    what = _describe(params)
    with failing_on_error(module, result):
        nodes = cli.nodes()
        node = find_node(nodes, node_id=params["id"], name=params["name"], node_key=params["node_key"])
        if params["state"] == "absent":
            if node is not None:
                result["changed"] = True
                result["changes"].append("deleted")
                if not module.check_mode:
                    cli.node_delete(node["id"], f"node {node['id']} ({node['given_name']})")
            if module._diff:
                result["diff"] = {"before": _shown(node), "after": {}}
            module.exit_json(**result)

        if node is None:
            known = ", ".join(f"{n['id']} ({n['given_name']})" for n in nodes) or "none"
            module.fail_json(
                msg=f"Headscale has no node with {what} (nodes: {known}); nodes appear when a Tailscale client "
                "registers, this module does not create them",
                **result,
            )

        before = copy.deepcopy(node)
        after = copy.deepcopy(node)
        label = f"node {node['id']} ({node['given_name']})"

        if params["rename"] is not None and params["rename"] != node["given_name"]:
            result["changes"].append("given_name")
            after["given_name"] = params["rename"]
            if not module.check_mode:
                after = cli.node_rename(node["id"], params["rename"], label)

        if wanted_tags is not None and wanted_tags != node["forced_tags"]:
            cli.check_node_tags(label, node["forced_tags"], wanted_tags)
            result["changes"].append("tags")
            after["forced_tags"] = list(wanted_tags)
            after["tags"] = sorted(set(wanted_tags) | (set(after["tags"]) - set(node["forced_tags"])))
            if cli.tags_are_sticky:
                after["tags"] = list(wanted_tags)
            if not module.check_mode:
                after = cli.node_tag(node, wanted_tags, label)

        if wanted_routes is not None and wanted_routes != node["approved_routes"]:
            result["changes"].append("approved_routes")
            after["approved_routes"] = list(wanted_routes)
            if not module.check_mode:
                after = cli.node_approve_routes(node["id"], wanted_routes, label)

        if params["state"] == "expired" and not node["expired"]:
            result["changes"].append("expired")
            after["expired"] = True
            if not module.check_mode:
                after = cli.node_expire(node["id"], label)

        result["changed"] = bool(result["changes"])
        if result["changed"] and not module.check_mode:
            # the command outputs lack some fields (subnet_routes, online): read the node back
            after = find_node(cli.nodes(), node_id=node["id"]) or after
            _verify(label, after, params["rename"], wanted_tags, wanted_routes, cli)
        result["node"] = after
        if module._diff:
            result["diff"] = {"before": _shown(before), "after": _shown(after)}
        module.exit_json(**result)


def _describe(params: dict) -> str:
    if params["id"] is not None:
        return f"id {params['id']}"
    if params["node_key"]:
        return f"node key {params['node_key']!r}"
    return f"name {params['name']!r}"


def _shown(node: dict | None) -> dict:
    return {key: node[key] for key in DIFF_KEYS} if node else {}


def _verify(label: str, node: dict, rename, tags, routes, cli) -> None:
    problems = []
    if rename is not None and node["given_name"] != rename:
        problems.append(f"its given name is {node['given_name']!r}, not {rename!r}")
    if tags is not None and node["forced_tags"] != tags:
        problems.append(f"its tags are {node['forced_tags']}, not {tags}")
    if routes is not None and node["approved_routes"] != routes:
        problems.append(f"its approved routes are {node['approved_routes']}, not {routes}")
    if problems:
        raise HeadscaleError(f"changed {label} but Headscale {cli.version_text} reports that {'; '.join(problems)}")


if __name__ == "__main__":
    main()
