# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options every Headscale module shares: which CLI to run and which config it reads."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  binary:
    description:
      - The C(headscale) binary, a path or a name looked up on E(PATH) and in C(/usr/local/bin), C(/usr/bin),
        C(/usr/local/sbin) and C(/usr/sbin).
    type: str
    default: headscale
  config:
    description:
      - The Headscale configuration file, passed to the CLI as C(-c); it names the server's unix socket.
      - Unset, the CLI reads E(HEADSCALE_CONFIG) or C(/etc/headscale/config.yaml).
    type: path
"""
