# Copyright: wgops.fleet contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The headscale role's settings, one row each: its default and the config.yaml keys built from it.

This table is the one home of a setting's name, default and keys. The role's defaults/main.yml and
meta/argument_specs.yml repeat the name and default in YAML (Ansible reads them there); unit tests keep
all three equal (tests/unit/plugins/module_utils/_headscale/test_config.py and
tests/unit/roles/test_argument_specs.py). The role passes every ``headscale_*`` variable to the builder
(roles/headscale/vars/main.yml), which refuses a name that is not a row here, with the closest one. The
checks of each value are in the builder (config.py), in the section that owns its keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PREFIX = "headscale_"


class _Templated:
    """The default is computed from other settings: server_url is https://HOST, sqlite_path DATA_DIR/db.sqlite."""

    def __repr__(self) -> str:
        return "TEMPLATED"


TEMPLATED: Any = _Templated()


@dataclass(frozen=True)
class Setting:
    default: Any
    # Config keys built from the setting: headscale_config_overrides may not set them around the validation.
    keys: tuple[str, ...] = ()


SETTINGS: dict[str, Setting] = {
    "version": Setting("0.29.3"),
    "install_method": Setting("deb"),
    "release_url": Setting("https://github.com/juanfont/headscale/releases/download"),
    "local_binary": Setting(""),
    "local_binaries": Setting({}),
    "known_releases": Setting(["0.26.1", "0.27.1", "0.28.0", "0.29.3"]),
    "allow_downgrade": Setting(False),
    "backup_dir": Setting("/var/backups/headscale"),
    "restore_from": Setting(""),
    "system_user": Setting("headscale"),
    "system_group": Setting("headscale"),
    "config_dir": Setting("/etc/headscale"),
    "data_dir": Setting("/var/lib/headscale"),
    "listen_addr": Setting("0.0.0.0:443", ("listen_addr",)),
    "metrics_listen_addr": Setting("127.0.0.1:9090", ("metrics_listen_addr",)),
    "grpc_listen_addr": Setting("127.0.0.1:50443", ("grpc_listen_addr",)),
    "grpc_allow_insecure": Setting(False, ("grpc_allow_insecure",)),
    "trusted_proxies": Setting([], ("trusted_proxies",)),
    "unix_socket": Setting("/var/run/headscale/headscale.sock", ("unix_socket",)),
    "disable_check_updates": Setting(True, ("disable_check_updates",)),
    "prefixes_v4": Setting("100.64.0.0/10", ("prefixes.v4",)),
    "prefixes_v6": Setting("fd7a:115c:a1e0::/48", ("prefixes.v6",)),
    "prefixes_allocation": Setting("sequential", ("prefixes.allocation",)),
    "node_expiry": Setting("0", ("node.expiry",)),
    "ephemeral_inactivity_timeout": Setting(
        "30m", ("node.ephemeral.inactivity_timeout", "ephemeral_node_inactivity_timeout")
    ),
    "log_level": Setting("info", ("log.level",)),
    "log_format": Setting("text", ("log.format",)),
    "database_type": Setting("sqlite", ("database.type",)),
    "sqlite_write_ahead_log": Setting(True, ("database.sqlite.write_ahead_log",)),
    "postgres_host": Setting("localhost", ("database.postgres.host",)),
    "postgres_port": Setting(5432, ("database.postgres.port",)),
    "postgres_name": Setting("headscale", ("database.postgres.name",)),
    "postgres_user": Setting("headscale", ("database.postgres.user",)),
    "postgres_password": Setting("", ("database.postgres.pass",)),
    "postgres_ssl": Setting("false", ("database.postgres.ssl",)),
    "dns_magic_dns": Setting(True, ("dns.magic_dns",)),
    "dns_base_domain": Setting("tailnet.internal", ("dns.base_domain",)),
    "dns_override_local_dns": Setting(False, ("dns.override_local_dns",)),
    "dns_nameservers_global": Setting([], ("dns.nameservers.global",)),
    "dns_nameservers_split": Setting({}, ("dns.nameservers.split",)),
    "dns_search_domains": Setting([], ("dns.search_domains",)),
    "dns_extra_records": Setting([], ("dns.extra_records",)),
    "derp_urls": Setting(["https://controlplane.tailscale.com/derpmap/default"], ("derp.urls",)),
    "derp_paths": Setting([], ("derp.paths",)),
    "derp_relays_group": Setting("derp"),
    "derp_auto_update_enabled": Setting(True, ("derp.auto_update_enabled",)),
    "derp_update_frequency": Setting("3h", ("derp.update_frequency",)),
    "derp_server_enabled": Setting(False, ("derp.server.enabled",)),
    "derp_server_region_id": Setting(999, ("derp.server.region_id",)),
    "derp_server_region_code": Setting("headscale", ("derp.server.region_code",)),
    "derp_server_region_name": Setting("Headscale Embedded DERP", ("derp.server.region_name",)),
    "derp_server_stun_listen_addr": Setting("0.0.0.0:3478", ("derp.server.stun_listen_addr",)),
    "derp_server_ipv4": Setting("", ("derp.server.ipv4",)),
    "derp_server_ipv6": Setting("", ("derp.server.ipv6",)),
    "derp_server_verify_clients": Setting(True, ("derp.server.verify_clients",)),
    "tls_mode": Setting("internal_ca"),
    "tls_cert_path": Setting("", ("tls_cert_path",)),
    "tls_key_path": Setting("", ("tls_key_path",)),
    "tls_extra_names": Setting([]),
    "acme_url": Setting("https://acme-v02.api.letsencrypt.org/directory", ("acme_url",)),
    "acme_email": Setting("", ("acme_email",)),
    "tls_letsencrypt_hostname": Setting("", ("tls_letsencrypt_hostname",)),
    "tls_letsencrypt_challenge_type": Setting("HTTP-01", ("tls_letsencrypt_challenge_type",)),
    "tls_letsencrypt_listen": Setting(":http", ("tls_letsencrypt_listen",)),
    "policy_mode": Setting("file", ("policy.mode",)),
    "policy": Setting({}, ("policy.path",)),
    "policy_acls": Setting([]),
    "tailnet_group": Setting("tailnet"),
    "users": Setting([]),
    "config_overrides": Setting({}),
    "server_url": Setting(TEMPLATED, ("server_url",)),
    "sqlite_path": Setting(TEMPLATED, ("database.sqlite.path",)),
}

# Not role variables: what the role passes in besides them (where it writes the policy file).
INTERNAL_SETTINGS = ("policy_path",)

DEFAULTS: dict[str, Any] = {name: s.default for name, s in SETTINGS.items() if s.default is not TEMPLATED}
TEMPLATED_DEFAULTS = tuple(name for name, s in SETTINGS.items() if s.default is TEMPLATED)
MANAGED_KEYS: dict[str, str] = {key: name for name, s in SETTINGS.items() for key in s.keys}
