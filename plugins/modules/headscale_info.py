#!/usr/bin/python
# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: headscale_info
short_description: Read users, nodes, keys, policy and version from a Headscale server
version_added: 0.1.0
description:
  - Reads what the Headscale server holds, with the same normalised records the other Headscale modules of
    this collection return, for every supported version (0.26 and newer). Changes nothing.
  - Pre-auth keys and API keys are returned without their secrets, by prefix only (up to Headscale 0.27 the
    CLI itself lists pre-auth keys in full).
  - Runs on the Headscale host and drives the C(headscale) CLI, which talks to the running server over its
    unix socket.
  - With O(gather=[version]) alone it reads only the installed binary's version (C(headscale version)), which
    needs no running server and no config; a missing binary is then RV(headscale_version=null), not a failure.
options:
  gather:
    description:
      - What to read. The version is always read; C(version) alone reads nothing else (see above).
    type: list
    elements: str
    choices: [version, users, nodes, preauthkeys, apikeys, policy]
    default: [version, users, nodes, preauthkeys, apikeys, policy]
extends_documentation_fragment:
  - wgops.fleet.headscale
  - wgops.fleet.attributes
  - wgops.fleet.attributes.info_module
author:
  - wgops.fleet maintainers (@wgops)
seealso:
  - module: wgops.fleet.headscale_node
  - module: wgops.fleet.headscale_user
"""

EXAMPLES = r"""
- name: Read the tailnet
  wgops.fleet.headscale_info:
  register: tailnet

- name: Show which nodes announce routes that are not approved
  ansible.builtin.debug:
    msg: "{{ item.given_name }}: {{ item.available_routes | difference(item.approved_routes) }}"
  loop: "{{ tailnet.nodes }}"
  when: item.available_routes | difference(item.approved_routes)

- name: Only the nodes
  wgops.fleet.headscale_info:
    gather: [nodes]
  register: hs

- name: The version of the installed binary (null when there is none), server running or not
  wgops.fleet.headscale_info:
    gather: [version]
    binary: /usr/local/bin/headscale
  register: installed
"""

RETURN = r"""
headscale_version:
  description:
    - The Headscale version the binary reports (always read), without a leading C(v).
    - A development build that reports C(dev) (what C(go install) makes of 0.26) is told by its commands and
      reported as its minor version with patch 0 (C(0.26.0)); RV(headscale_version_exact) is then false.
    - null when O(gather=[version]) alone and the binary does not exist. With O(gather=[version]) alone,
      versions older than 0.26 are reported too; otherwise the module refuses them.
  returned: always
  type: str
  sample: 0.28.0
headscale_version_exact:
  description:
    - Whether RV(headscale_version) is the release the binary reports; false for a development build, whose
      patch version is unknown (only its minor version is certain).
  returned: always
  type: bool
  sample: true
  version_added: 0.2.0
users:
  description: The users (as RV(wgops.fleet.headscale_user#module:user) returns them).
  returned: when gathered
  type: list
  elements: dict
nodes:
  description: The nodes (as RV(wgops.fleet.headscale_node#module:node) returns them).
  returned: when gathered
  type: list
  elements: dict
preauthkeys:
  description: The pre-auth keys without secrets (as RV(wgops.fleet.headscale_preauthkey#module:preauthkey) returns them).
  returned: when gathered
  type: list
  elements: dict
apikeys:
  description: The API keys without secrets (as RV(wgops.fleet.headscale_apikey#module:apikeys) returns them).
  returned: when gathered
  type: list
  elements: dict
policy:
  description:
    - The policy as the server has it (HuJSON text); null when the database holds none or it cannot be read
      (a warning then says why).
  returned: when gathered
  type: str
policy_json:
  description: RV(policy) as a JSON value (comments dropped); null when there is none or it is not HuJSON.
  returned: when gathered
  type: dict
"""

import contextlib

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.wgops.fleet.plugins.module_utils._headscale.cli import (
    COMMON_ARGUMENT_SPEC,
    HeadscaleError,
    failing_on_error,
    installed_version,
    module_start,
    parse_hujson,
    version_string,
)

GATHER = ["version", "users", "nodes", "preauthkeys", "apikeys", "policy"]


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "gather": {"type": "list", "elements": "str", "choices": GATHER, "default": list(GATHER)},
            **COMMON_ARGUMENT_SPEC,
        },
        supports_check_mode=True,
    )
    gather = set(module.params["gather"])
    if gather == {"version"}:
        try:
            version, exact = installed_version(module, module.params["binary"])
        except HeadscaleError as exc:
            module.fail_json(msg=str(exc))
        module.exit_json(changed=False, headscale_version=version_string(version), headscale_version_exact=exact)
    cli, result = module_start(module)
    result["headscale_version_exact"] = cli.version_exact
    with failing_on_error(module, result):
        if "users" in gather:
            result["users"] = cli.users()
        if "nodes" in gather:
            result["nodes"] = cli.nodes()
        if "preauthkeys" in gather:
            result["preauthkeys"] = cli.preauthkeys()
        if "apikeys" in gather:
            result["apikeys"] = cli.apikeys()
    if "policy" in gather:
        result["policy"] = result["policy_json"] = None
        try:
            result["policy"] = cli.policy_get()
        except HeadscaleError as exc:
            module.warn(f"policy not read: {exc}")
        if result["policy"] is not None:
            with contextlib.suppress(ValueError):
                result["policy_json"] = parse_hujson(result["policy"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
